"""More of the NumPy library as primitives: ``prod`` (zero-safe derivatives), integer-array
gathers (``gather``) and their adjoint (``scatter_add_rows``: duplicates accumulate), batched
matmul (``matmul3``, ``bswap``), and creation (``iota`` = ``np.arange(n)``, ``pack`` =
``np.array([s1, s2, ...])``).  ``np.full``, ``np.linspace``, float ``np.arange`` and boolean
masks are built from these and the existing primitives by frontend/library.py.

Ops Numba has no NumPy form for (``np.prod`` with an axis, scatter-add, 3-D matmul) call small
Numba helpers; they are compiled lazily and attached to the runtime module as ``_rt.lib_*``
when code using them is first generated, so importing srcad does not import Numba.
"""
from __future__ import annotations

import numpy as np

from ..ir.types import Type, promote
from .arrays import _reduced_type
from .registry import Primitive, add_tangents, fit, register

# ----------------------------------------------------------------------------- Numba helpers


def _prod_axis(x, axis):
    """np.prod(x, axis) for 2-D x (Numba's np.prod has no axis argument)."""
    if axis == 0:
        out = np.ones(x.shape[1], x.dtype)
        for i in range(x.shape[0]):
            out *= x[i]
        return out
    out = np.empty(x.shape[0], x.dtype)
    for i in range(x.shape[0]):
        out[i] = np.prod(x[i])
    return out


def _scatter_rows(c, like, idx):
    """out = zeros like ``like``; out[idx[i]] += c[i] (duplicates accumulate)."""
    out = np.zeros(like.shape, like.dtype)
    n = like.shape[0]
    for i in range(idx.shape[0]):
        j = idx[i]
        if j < 0:
            j += n
        out[j] += c[i]
    return out


def _scatter_one(c, like, idx):
    out = np.zeros(like.shape, like.dtype)
    j = idx if idx >= 0 else idx + like.shape[0]
    out[j] += c
    return out


def _matmul3(a, c):
    """a @ c with 3-D operands (a batch of matrices; a 2-D operand is shared by the batch)."""
    nb = a.shape[0] if a.ndim == 3 else c.shape[0]
    n, k, m = a.shape[-2], a.shape[-1], c.shape[-1]
    ab = np.broadcast_to(a, (nb, n, k))
    cb = np.broadcast_to(c, (nb, k, m))
    out = np.empty((nb, n, m), a.dtype)
    for i in range(nb):
        out[i] = np.dot(np.ascontiguousarray(ab[i]), np.ascontiguousarray(cb[i]))
    return out


_HELPERS = {"lib_prod_axis": _prod_axis, "lib_scatter_rows": _scatter_rows,
            "lib_scatter_one": _scatter_one, "lib_matmul3": _matmul3}
_installed = False


def _rt(name: str) -> str:
    """``_rt.<name>`` for a template, compiling the helpers into the runtime module once."""
    global _installed
    if not _installed:
        import numba

        from ..codegen import rt
        for key, fn in _HELPERS.items():
            if not hasattr(rt, key):
                setattr(rt, key, numba.njit(cache=True)(fn))
        _installed = True
    return f"_rt.{name}"


def _linear(name, nin, impl, type_rule, cpu, jvp, vjp, coerce="none", **kw):
    return register(Primitive(name, nin, impl, type_rule, coerce, jvp, vjp, cpu, **kw))


# ----------------------------------------------------------------------------- prod

def _prod_cpu(args, p):
    axis, keep = p["axis"], p["keepdims"]
    if axis is None:
        return f"np.prod({args[0]})"
    s = f"{_rt('lib_prod_axis')}({args[0]}, {axis})"
    return f"np.expand_dims({s}, {axis})" if keep else s


def _prod_others(b, x, p):
    """Per element of x, the product of the *other* elements along the reduced axes (x's
    shape), without dividing by x: with z zeros along the axis,

        z = 0: P / x_i                        (P: product of the nonzero entries)
        z = 1: P at the zero, (P / x_i) * Zs elsewhere      (Zs: sum of the zero entries)
        z = 2: P * (Zs - x_i) at the zeros, 0 elsewhere
        z > 2: 0

    Zs and Zs - x_i are zero-valued but carry the tangents of the zero entries, so the
    derivative of this expression (the Hessian of prod) is exact too."""
    dt = Type(x.type.dtype)
    kp = {"axis": p["axis"], "keepdims": p["axis"] is not None}
    zero, one = b.const(0.0, dt), b.const(1.0, dt)
    isz = b.eq(x, zero)
    xt = b.select(isz, one, x)
    big_p = b.prod(xt, **kp)
    nz = b.sum(b.select(isz, one, zero), **kp)  # (a bool -> float convert fails in Numba)
    zs = b.sum(b.select(isz, x, zero), **kp)
    q = b.div(big_p, xt)
    z1 = b.select(isz, b.expand_like(big_p, x), b.mul(q, zs))
    z2 = b.select(isz, b.mul(big_p, b.sub(zs, x)), b.zeros_like(x))
    return b.select(b.eq(nz, zero), q,
                    b.select(b.eq(nz, one), z1,
                             b.select(b.eq(nz, b.const(2.0, dt)), z2, b.zeros_like(x))))


def _prod_jvp(b, xs, outs, ts, p):
    if ts[0] is None:
        return [None]
    return [b.sum(b.mul(ts[0], _prod_others(b, xs[0], p)), **p)]


def _prod_vjp(b, xs, outs, cts, p, act):
    ct = cts[0]
    if ct is None or not act[0]:
        return [None]
    if p["axis"] is not None and not p["keepdims"]:
        ct = b.expand_dims(ct, axis=p["axis"])
    return [b.mul(ct, _prod_others(b, xs[0], p))]


register(Primitive(
    "prod", 1, lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
    lambda ts, p: [_reduced_type(ts[0], p["axis"], p["keepdims"])], "none",
    _prod_jvp, _prod_vjp, _prod_cpu, cost=2, domain=[(-2, 2)],
    extra={"test_params": {"axis": None, "keepdims": False}, "test_shape": [(2, 3)]},
    doc="np.prod(x, axis=None | int, keepdims); exact derivatives with zeros in x"))


# ----------------------------------------------------------------------------- gather / scatter

def _gather_type(ts, p):
    x, idx = ts
    if idx.dtype != "i64":
        raise TypeError(f"gather: indices must be integers, not {idx}")
    return [Type(x.dtype, x.ndim - 1 + idx.ndim)]


def _gather_impl(x, idx):
    return np.asarray(x)[np.asarray(idx, dtype=np.int64)]


def _gather_jvp(b, xs, outs, ts, p):
    return [None if ts[0] is None else b.gather(ts[0], xs[1])]


def _gather_vjp(b, xs, outs, cts, p, act):
    if cts[0] is None or not act[0]:
        return [None, None]
    return [b.scatter_add_rows(cts[0], xs[0], xs[1], nd_idx=xs[1].type.ndim), None]


_linear("gather", 2, _gather_impl, _gather_type, "{0}[{1}]", _gather_jvp, _gather_vjp,
        domain=[(-2, 2)], extra={"test_shape": [(4, 2)], "test_index": [2]},
        doc="x[idx] along the first axis, idx an int (or int array: a gather)")


def _scatter_impl(c, like, idx, nd_idx):
    out = np.zeros(np.shape(like), np.result_type(c, like))
    np.add.at(out, np.asarray(idx, dtype=np.int64), c)
    return out


def _scatter_cpu(args, p):
    name = "lib_scatter_rows" if p["nd_idx"] else "lib_scatter_one"
    return f"{_rt(name)}({args[0]}, {args[1]}, {args[2]})"


_linear("scatter_add_rows", 3, _scatter_impl, lambda ts, p: [Type(ts[0].dtype, ts[1].ndim)],
        _scatter_cpu,
        jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else
                                        b.scatter_add_rows(ts[0], xs[1], xs[2], **p)],
        vjp=lambda b, xs, outs, cts, p, act: [
            b.gather(cts[0], xs[2]) if cts[0] is not None and act[0] else None, None, None],
        domain=[(-2, 2), (-2, 2)], extra={"test_shape": [(2,), (4, 2)], "test_index": [1],
                                          "test_params": {"nd_idx": 0}},
        doc="zeros like `like`, then out[idx] += c with duplicates accumulating (the adjoint "
            "of gather); nd_idx: idx's rank (0 or 1)")


# ----------------------------------------------------------------------------- batched matmul

def _bswap_impl(x):
    return np.array(np.swapaxes(x, -1, -2), copy=True)  # a new array, as compiled


_linear("bswap", 1, _bswap_impl, lambda ts, p: [ts[0]],
        "np.ascontiguousarray(np.transpose({0}, (0, 2, 1)))",
        jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else b.bswap(ts[0])],
        vjp=lambda b, xs, outs, cts, p, act: [None if cts[0] is None else b.bswap(cts[0])],
        domain=[(-2, 2)], extra={"test_shape": [(2, 3, 4)]},
        doc="swap the last two axes of a 3-D array (a batch of transposes)")


def _swap(b, v):
    return b.bswap(v) if v.type.ndim == 3 else b.transpose(v)


def _matmul3_type(ts, p):
    a, c = ts
    if {a.ndim, c.ndim} not in ({3}, {2, 3}):
        raise TypeError(f"matmul3 of ranks {a.ndim} and {c.ndim}: one 3-D operand and one "
                        "2-D or 3-D")
    return [Type(promote(a, c).dtype, 3)]


def _matmul3_jvp(b, xs, outs, ts, p):
    return [add_tangents(b, [None if ts[0] is None else b.matmul3(ts[0], xs[1]),
                             None if ts[1] is None else b.matmul3(xs[0], ts[1])])]


def _matmul3_vjp(b, xs, outs, cts, p, act):
    ct = cts[0]
    if ct is None:
        return [None, None]
    a, c = xs
    abar = fit(b, b.matmul3(ct, _swap(b, c)), a) if act[0] else None
    cbar = fit(b, b.matmul3(_swap(b, a), ct), c) if act[1] else None
    return [abar, cbar]


register(Primitive(
    "matmul3", 2, np.matmul, _matmul3_type, "same", _matmul3_jvp, _matmul3_vjp,
    lambda args, p: f"{_rt('lib_matmul3')}({args[0]}, {args[1]})", cost=2,
    domain=[(-2, 2), (-2, 2)], extra={"test_shape": [(2, 2, 3), (3, 2)]},
    doc="np.matmul / @ with 3-D operands: (b, n, k) @ (b, k, m) or (k, m), (n, k) @ (b, k, m)"))


# ----------------------------------------------------------------------------- creation

_NPD = {"f64": "np.float64", "f32": "np.float32", "i64": "np.int64", "bool": "np.bool_"}


def _iota_cpu(args, p):
    return f"np.arange({args[0]})" if p["dtype"] == "i64" else \
        f"np.arange({args[0]}).astype({_NPD[p['dtype']]})"


register(Primitive(
    "iota", 1, lambda n, dtype: np.arange(int(n), dtype=Type(dtype).np_dtype),
    lambda ts, p: [Type(p["dtype"], 1)], "none", lambda b, xs, outs, ts, p: [None],
    lambda b, xs, outs, cts, p, act: [None], _iota_cpu, differentiable=False,
    extra={"fresh": True}, doc="np.arange(n) of a dtype (arange/linspace are built on it)"))


def _pack_type(ts, p):
    if any(t.ndim for t in ts):
        raise TypeError("pack takes scalars")
    return [Type(promote(*ts).dtype, 1)]


def _pack_jvp(b, xs, outs, ts, p):
    if all(t is None for t in ts):
        return [None]
    dt = Type(outs[0].type.dtype)
    return [b.pack(*[t if t is not None else b.const(0.0, dt) for t in ts])]


def _pack_vjp(b, xs, outs, cts, p, act):
    ct = cts[0]
    if ct is None:
        return [None] * len(xs)
    return [b.emit("getitem", ct, b.const(i)) if act[i] else None for i in range(len(xs))]


register(Primitive(
    "pack", -1, lambda *xs: np.array(xs), _pack_type, "same", _pack_jvp, _pack_vjp,
    lambda args, p: f"np.array([{', '.join(args)}])", domain=[(-2, 2)] * 3,
    extra={"test_shape": [(), (), ()], "fresh": True},
    doc="np.array([s1, s2, ...]) of scalars"))
