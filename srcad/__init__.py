"""srcad: source-transformation automatic differentiation for Python/NumPy, compiled with Numba.

>>> import numpy as np, srcad
>>> @srcad.differentiate
... def f(x1, x2):
...     return np.log(x1) + x1 * x2 - np.sin(x2)
>>> f.grad(2.0, 5.0)
(5.5, 1.7163378145367738)
"""
__version__ = "0.1.0"

from . import testing
from .api import (
    Differentiable,
    differentiate,
    grad,
    hessian,
    hvp,
    interpret,
    jacfwd,
    jacrev,
    jvp,
    show,
    tape_size,
    value_and_grad,
    vjp,
)
from .errors import (
    NotDifferentiableError,
    SrcadError,
    SrcadIndexError,
    SrcadNameError,
    SrcadRecursionError,
    SrcadTypeError,
    SrcadValueError,
    UnsupportedCallError,
    UnsupportedSyntaxError,
)
from .frontend.calls import checkpoint, stop_gradient
from .memory import keep_freed_memory

__all__ = [
    "Differentiable",
    "keep_freed_memory",
    "NotDifferentiableError",
    "SrcadError",
    "SrcadIndexError",
    "SrcadNameError",
    "SrcadRecursionError",
    "SrcadTypeError",
    "SrcadValueError",
    "UnsupportedCallError",
    "UnsupportedSyntaxError",
    "checkpoint",
    "differentiate",
    "grad",
    "hessian",
    "hvp",
    "interpret",
    "jacfwd",
    "jacrev",
    "jvp",
    "show",
    "stop_gradient",
    "tape_size",
    "testing",
    "value_and_grad",
    "vjp",
]
