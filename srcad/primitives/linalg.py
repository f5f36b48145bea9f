"""Dense linear algebra and shape-moving array primitives with their standard adjoints
(Giles, "Collected matrix derivative results"):  det, inv, solve, trace, reshape,
concatenate, cumsum."""
from __future__ import annotations

import numpy as np

from ..ir.types import Type, promote
from .registry import Primitive, add_tangents, register

# ----------------------------------------------------------------------------- linear algebra


def _det_vjp(b, xs, outs, cts, p, act):
    # d det(A) = det(A) tr(A^-1 dA)  =>  A_bar = ct det(A) A^-T
    return [b.mul(b.mul(cts[0], outs[0]), b.transpose(b.inv(xs[0])))]


def _det_jvp(b, xs, outs, ts, p):
    if ts[0] is None:
        return [None]
    return [b.mul(outs[0], b.trace(b.dot(b.inv(xs[0]), ts[0])))]


register(Primitive(
    "det", 1, np.linalg.det, lambda ts, p: [Type(ts[0].dtype)], "float", _det_jvp, _det_vjp,
    "np.linalg.det({0})", cost=3, domain=[(-2, 2)], extra={"test_shape": [(3, 3)]},
    doc="np.linalg.det of a square matrix"))


def _inv_vjp(b, xs, outs, cts, p, act):
    # d inv(A) = -inv(A) dA inv(A)  =>  A_bar = -inv(A)^T ct inv(A)^T
    t = b.transpose(outs[0])
    return [b.neg(b.dot(b.dot(t, cts[0]), t))]


def _inv_jvp(b, xs, outs, ts, p):
    if ts[0] is None:
        return [None]
    return [b.neg(b.dot(b.dot(outs[0], ts[0]), outs[0]))]


register(Primitive(
    "inv", 1, np.linalg.inv, lambda ts, p: [ts[0]], "float", _inv_jvp, _inv_vjp,
    "np.linalg.inv({0})", cost=3, domain=[(-2, 2)], extra={"test_shape": [(3, 3)]},
    doc="np.linalg.inv of a square matrix"))


def _solve_vjp(b, xs, outs, cts, p, act):
    a, rhs = xs
    x = outs[0]
    rhs_bar = b.solve(b.transpose(a), cts[0])
    a_bar = None
    if act[0]:
        a_bar = b.neg(b.outer(rhs_bar, x) if x.type.ndim == 1 else
                      b.dot(rhs_bar, b.transpose(x)))
    return [a_bar, rhs_bar if act[1] else None]


def _solve_jvp(b, xs, outs, ts, p):
    ta, tb = ts
    r = add_tangents(b, [tb, None if ta is None else b.neg(b.dot(ta, outs[0]))])
    return [None if r is None else b.solve(xs[0], r)]


register(Primitive(
    "solve", 2, np.linalg.solve, lambda ts, p: [Type(promote(*ts).dtype, ts[1].ndim)], "float",
    _solve_jvp, _solve_vjp, "np.linalg.solve({0}, {1})", cost=3, domain=[(-2, 2), (-2, 2)],
    extra={"test_shape": [(3, 3), (3,)]}, doc="np.linalg.solve(A, b), b a vector or matrix"))


def _eye_impl(n, dtype):
    return np.eye(int(n), dtype=Type(dtype).np_dtype)


register(Primitive(
    "eye", 1, _eye_impl, lambda ts, p: [Type(p["dtype"], 2)], "none",
    lambda b, xs, outs, ts, p: [None], lambda b, xs, outs, cts, p, act: [None],
    lambda args, p: f"np.eye({args[0]}, dtype=np.{Type(p['dtype']).np_dtype.__name__})",
    differentiable=False, extra={"fresh": True}, doc="np.eye(n)"))


def _trace_vjp(b, xs, outs, cts, p, act):
    a = xs[0]
    return [b.mul(cts[0], b.eye(b.dim(a, axis=0), dtype=a.type.dtype))]


register(Primitive(
    "trace", 1, np.trace, lambda ts, p: [Type(ts[0].dtype)], "none",
    lambda b, xs, outs, ts, p: [None if ts[0] is None else b.trace(ts[0])], _trace_vjp,
    "np.trace({0})", domain=[(-2, 2)], extra={"test_shape": [(3, 3)]},
    doc="np.trace of a square matrix"))

# ----------------------------------------------------------------------------- shapes


def _reshape_impl(x, *shape):
    return np.reshape(x, tuple(int(s) for s in shape))


def _reshape_vjp(b, xs, outs, cts, p, act):
    x = xs[0]
    return [b.reshape(cts[0], *[b.dim(x, axis=k) for k in range(x.type.ndim)])] + \
        [None] * (len(xs) - 1)


register(Primitive(
    "reshape", -1, _reshape_impl, lambda ts, p: [Type(ts[0].dtype, len(ts) - 1)], "none",
    lambda b, xs, outs, ts, p: [None if ts[0] is None else b.reshape(ts[0], *xs[1:])],
    _reshape_vjp,
    lambda args, p: f"np.ascontiguousarray({args[0]}).reshape(({', '.join(args[1:])},))",
    domain=[(-2, 2)], extra={"test_shape": [(2, 3)], "test_index": [3, 2]},
    doc="x.reshape(shape) (shape known at run time; -1 resolved by the frontend)"))


def _concat_type(ts, p):
    return [Type(promote(*ts).dtype, ts[0].ndim)]


def _concat_vjp(b, xs, outs, cts, p, act):
    """Each input's cotangent is its slab of the output cotangent."""
    ct, axis = cts[0], p["axis"]
    if axis == 1:
        ct = b.transpose(ct)
    out, start = [], b.const(0)
    for x in xs:
        stop = b.add(start, b.dim(x, axis=axis))
        piece = b.getslice(ct, start, stop, b.const(1))
        out.append(b.transpose(piece) if axis == 1 else piece)
        start = stop
    return out


def _concat_jvp(b, xs, outs, ts, p):
    if all(t is None for t in ts):
        return [None]
    from .registry import zero
    return [b.concatenate(*[t if t is not None else zero(b, x) for t, x in zip(ts, xs)], **p)]


register(Primitive(
    "concatenate", -1, lambda *xs, axis: np.concatenate(xs, axis=axis), _concat_type, "same",
    _concat_jvp, _concat_vjp,
    lambda args, p: f"np.concatenate(({', '.join(args)},), axis={p['axis']})",
    domain=[(-2, 2), (-2, 2)], extra={"test_shape": [(2, 3), (1, 3)],
                                      "test_params": {"axis": 0}},
    doc="np.concatenate of 1-D or 2-D arrays along axis 0 or 1"))

register(Primitive(
    "cumsum", 1, np.cumsum, lambda ts, p: [ts[0]], "none",
    lambda b, xs, outs, ts, p: [None if ts[0] is None else b.cumsum(ts[0])],
    lambda b, xs, outs, cts, p, act: [b.rcumsum(cts[0])], "np.cumsum({0})", domain=[(-2, 2)],
    extra={"test_shape": [(5,)]}, doc="np.cumsum of a vector"))
register(Primitive(
    "rcumsum", 1, lambda x: np.cumsum(x[::-1])[::-1], lambda ts, p: [ts[0]], "none",
    lambda b, xs, outs, ts, p: [None if ts[0] is None else b.rcumsum(ts[0])],
    lambda b, xs, outs, cts, p, act: [b.cumsum(cts[0])], "np.cumsum({0}[::-1])[::-1]",
    domain=[(-2, 2)], extra={"test_shape": [(5,)]},
    doc="reversed cumulative sum (the adjoint of cumsum)"))

for _name in ("argmax", "argmin"):
    register(Primitive(
        _name, 1, getattr(np, _name), lambda ts, p: [Type("i64")], "none",
        lambda b, xs, outs, ts, p: [None], lambda b, xs, outs, cts, p, act: [None],
        f"np.{_name}({{0}})", differentiable=False, doc=f"np.{_name} (flat index)"))
