"""Gradient checking, public API (autograd's ``check_grads``).

``check_grads(f, args)`` compares forward mode, reverse mode and central finite differences
along random directions (the dot-product test ``<v, J u>``), and with ``order=2`` also the
Hessian-vector product (forward over reverse) against finite differences of the gradient.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .api import as_differentiable, hvp, jvp, vjp
from .ir.types import type_of_python_value


def _flat(out) -> np.ndarray:
    """All outputs (floats or arrays) as one float64 vector."""
    parts = out if isinstance(out, tuple) else (out,)
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])


def _copies(args) -> list:
    """The arguments with every array copied: the Python function may write into them."""
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def _shift(args, floats, u, eps):
    shifted = _copies(args)
    for i, ui in zip(floats, u):
        shifted[i] = args[i] + eps * ui
    return shifted


def _is_float(a) -> bool:
    return type_of_python_value(a).is_float


def central_difference(fn, args: Sequence, floats: list[int], u, eps: float = 1e-6):
    """(f(x + eps u) - f(x - eps u)) / (2 eps), per output, in float64.  ``u`` holds one
    direction per float argument (a float or an array of the argument's shape)."""
    plus = _flat(fn(*_shift(args, floats, u, eps)))
    minus = _flat(fn(*_shift(args, floats, u, -eps)))
    return (plus - minus) / (2 * eps)


def _direction(rng, a):
    return rng.standard_normal(np.shape(a)) if isinstance(a, np.ndarray) else \
        float(rng.standard_normal())


def _inner(g, u) -> float:
    return float(sum(np.sum(np.asarray(gi) * ui) for gi, ui in zip(g, u)))


def check_grads(f, args: Sequence, modes=("fwd", "rev"), order: int = 1, eps: float = 1e-6,
                rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0,
                backend: str = "numba") -> None:
    """Raise AssertionError unless srcad's derivatives of ``f`` at ``args`` agree with central
    finite differences (and with each other) along random directions.  ``backend="interpret"``
    checks the derivative IR in the NumPy interpreter (no compilation: fast sweeps).

    >>> import math, srcad
    >>> def f(x, y): return math.sin(x) * y
    >>> srcad.testing.check_grads(f, (0.3, 2.0), modes=("fwd", "rev"), order=2)
    """
    d = as_differentiable(f)
    args = tuple(args)
    floats = [i for i, a in enumerate(args) if _is_float(a)]
    if not floats:
        raise ValueError("check_grads needs at least one float argument")
    rng = np.random.default_rng(seed)
    u = [_direction(rng, args[i]) for i in floats]
    raw = d.fn(*_copies(args))
    out = _flat(raw)
    v = rng.standard_normal(out.size)
    fd = central_difference(d.fn, args, floats, u, eps)
    scale = max(1.0, float(np.max(np.abs(fd))))

    def close(a, b, what):
        if not np.allclose(a, b, rtol=rtol, atol=atol * scale):
            raise AssertionError(f"check_grads({d.__name__}): {what}: {a} != {b}")

    vjp_dot = jvp_out = None
    tangents = [0.0] * len(args)  # the direction u, placed at the float arguments
    for i, ui in zip(floats, u):
        tangents[i] = ui
    if "fwd" in modes:
        _, t = jvp(d, args, tangents, backend=backend)
        jvp_out = _flat(t)
        close(jvp_out, fd, "forward mode vs finite differences")
    if "rev" in modes:
        _, pullback = vjp(d, *args, backend=backend)
        g = pullback(_unflatten(v, raw))
        vjp_dot = _inner([g[i] for i in floats], u)
        close(vjp_dot, float(v @ fd), "reverse mode vs finite differences (<v, J u>)")
    if jvp_out is not None and vjp_dot is not None:
        close(vjp_dot, float(v @ jvp_out), "forward vs reverse mode")
    if order >= 2:
        if out.size != 1:
            raise ValueError("order=2 needs a scalar-output function")
        hv = _flat(hvp(d, args, tangents, backend=backend))
        from .api import grad
        if backend == "numba":
            g = grad(d, argnums=tuple(floats))
        else:
            from .api import Spec
            def g(*a):
                return d.interpreted(Spec("grad", tuple(floats)), a)(*a)
        fd2 = central_difference(lambda *a: g(*a), args, floats, u, eps=1e-5)
        close(hv, fd2, "Hessian-vector product vs finite differences of the gradient")


def _unflatten(v: np.ndarray, like):
    """Split the vector ``v`` into the structure of the output ``like``."""
    parts = like if isinstance(like, tuple) else (like,)
    out, k = [], 0
    for p in parts:
        n = int(np.size(p))
        out.append(v[k:k + n].reshape(np.shape(p)) if np.ndim(p) else float(v[k]))
        k += n
    return tuple(out) if isinstance(like, tuple) else out[0]


def nrt_allocations(fn, args: Sequence = ()) -> int:
    """Numba-runtime allocations (arrays, typed lists: NRT ``alloc`` count) made by the
    compiled code in one call of ``fn(*args)``; call it once before, so that compilation is not
    counted.  Not counted: the one allocation per NumPy array argument that Numba's unboxing
    makes (a MemInfo wrapping the array).  Stats are switched on only around the call."""
    from numba.core.runtime import _nrt_python as nrt
    from numba.core.runtime import rtsys
    was_on = nrt.memsys_stats_enabled()
    nrt.memsys_enable_stats()
    try:
        before = rtsys.get_allocation_stats().alloc
        fn(*args)
        after = rtsys.get_allocation_stats().alloc
    finally:
        if not was_on:
            nrt.memsys_disable_stats()
    return after - before - sum(isinstance(a, np.ndarray) for a in args)
