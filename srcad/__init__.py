"""srcad: source-transformation automatic differentiation for Python/NumPy, compiled with Numba.

>>> import numpy as np, srcad
>>> @srcad.differentiate
... def f(x1, x2):
...     return np.log(x1) + x1 * x2 - np.sin(x2)
>>> f.grad(2.0, 5.0)
(5.5, 1.7163378145367738)
"""
__version__ = "0.1.0"

from . import testing  # noqa: E402,F401
from .api import (  # noqa: E402,F401
    Differentiable, differentiate, grad, hessian, hvp, interpret, jacfwd, jacrev, jvp, show,
    tape_size, value_and_grad, vjp,
)
from .errors import (  # noqa: E402,F401
    NotDifferentiableError, SrcadError, SrcadNameError, SrcadRecursionError, SrcadTypeError,
    UnsupportedCallError, UnsupportedSyntaxError,
)
from .frontend.calls import checkpoint, stop_gradient  # noqa: E402,F401

__all__ = [
    "differentiate", "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian",
    "hvp", "show", "interpret", "tape_size", "checkpoint", "stop_gradient", "testing",
    "SrcadError", "UnsupportedSyntaxError", "UnsupportedCallError", "SrcadNameError",
    "SrcadTypeError", "SrcadRecursionError", "NotDifferentiableError", "Differentiable",
]
