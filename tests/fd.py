"""Central finite differences in float64, used as the reference for srcad's derivatives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

REL_STEP = 1e-6


def as_vector(out: Any) -> np.ndarray:
    """Flatten a function result (a float or a tuple of floats) into a float64 vector."""
    values = out if isinstance(out, tuple) else (out,)
    return np.array([float(v) for v in values], dtype=np.float64)


def float_indices(args: Sequence[Any]) -> list[int]:
    """Positions of the differentiable (float) arguments; ints are data."""
    return [i for i, a in enumerate(args) if isinstance(a, float)]


def step(x: float, rel: float = REL_STEP) -> float:
    return rel * max(1.0, abs(x))


def partial(
    f: Callable[..., Any], args: Sequence[Any], index: int, rel: float = REL_STEP
) -> np.ndarray:
    """d f(*args) / d args[index] for every output, by central differences."""
    x = args[index]
    h = step(x, rel)
    plus, minus = list(args), list(args)
    plus[index], minus[index] = x + h, x - h
    # Divide by the distance between the representable points actually evaluated.
    return (as_vector(f(*plus)) - as_vector(f(*minus))) / (plus[index] - minus[index])


def jacobian(f: Callable[..., Any], args: Sequence[Any], rel: float = REL_STEP) -> np.ndarray:
    """Jacobian of shape (outputs, arguments); the columns of int arguments are zero."""
    n_out = as_vector(f(*args)).size
    jac = np.zeros((n_out, len(args)))
    for i in float_indices(args):
        jac[:, i] = partial(f, args, i, rel)
    return jac
