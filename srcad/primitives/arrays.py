"""Array primitives: broadcasting adjoints, reductions, shapes, linear algebra, indexing,
creation.  Elementwise math on arrays reuses the scalar primitives (see scalar.py's array
templates); the blocks here are the ops whose type changes rank or that move data.

Cotangents of indexing are *sparse*: the VJP rule returns ``Sparse(...)``, and reverse mode
adds it in place into an adjoint buffer it owns (``index_add``) instead of materializing a
dense zero array per read (which would make a loop over x[i] quadratic).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import _shape_text
from ..ir.core import Value
from ..ir.types import I64, Type, promote
from .registry import Primitive, add_tangents, register

_NPD = {"f64": "np.float64", "f32": "np.float32", "i64": "np.int64", "bool": "np.bool_"}


@dataclass
class Sparse:
    """A cotangent that is zero except at ``x[index] (+)= value`` (index: ints or a slice)."""
    kind: str  # "index" | "slice" | "spec" (a take/put index; see ``spec``)
    index: list[Value]
    value: Value
    spec: tuple = ()


def _linear(name, nin, impl, type_rule, cpu, jvp, vjp, **kw):
    return register(Primitive(name, nin, impl, type_rule, "none", jvp, vjp, cpu, **kw))


# ----------------------------------------------------------------------------- broadcasting

def _unbroadcast_impl(c, x, lead=0):
    c = np.asarray(c)
    xs = np.shape(x)
    if c.ndim < len(xs) or any(n != m and n != 1 for n, m in zip(xs, c.shape[c.ndim - len(xs):])):
        raise ValueError("operands could not be broadcast together with shapes "
                         f"{_shape_text(xs)} {_shape_text(c.shape)}")
    for _ in range(lead):
        c = c.sum(axis=0)
    axes = tuple(i for i, n in enumerate(np.shape(x)) if n == 1 and c.shape[i] != 1)
    return c.sum(axis=axes, keepdims=True) if axes else c


def _unbroadcast_cpu(args, p):
    c = args[0]
    for _ in range(p.get("lead", 0)):
        c = f"np.sum({c}, axis=0)"
    return f"_rt.unbroadcast({c}, {args[1]})"


_linear("unbroadcast", 2, _unbroadcast_impl, lambda ts, p: [ts[1]], _unbroadcast_cpu,
        jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else
                                        b.unbroadcast(ts[0], xs[1], **p)],
        vjp=lambda b, xs, outs, cts, p, act: [b.expand_like(cts[0], xs[0]), None],
        domain=[(-2, 2), (-2, 2)], extra={"test_shape": [(2, 3), (1, 3)],
                                          "test_params": {"lead": 0}},
        doc="sum a cotangent down to the shape of a broadcast operand")


def _fits_impl(v, like, loc=("", 0, 0)):
    if np.shape(v) != np.shape(like):
        from ..errors import _SHAPE_MESSAGES, _shape_text
        raise ValueError(_SHAPE_MESSAGES[5].format(a=_shape_text(np.shape(like)),
                                                   b=_shape_text(np.shape(v))))
    return v


_linear("fits", 2, _fits_impl, lambda ts, p: [ts[0]],
        lambda a, p: f"_rt.same_shape({a[0]}, {a[1]}, {', '.join(map(repr, p['loc']))})",
        # the derivatives keep the check: a gradient that never reads the value still raises
        jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else b.fits(ts[0], xs[1], **p)],
        vjp=lambda b, xs, outs, cts, p, act: [b.fits(cts[0], xs[1], **p), None],
        domain=[(-2, 2), (-2, 2)], extra={"test_shape": [(2, 3), (2, 3)],
                                          "test_params": {"loc": ("<test>", 1, 0)}},
        pointwise=True,
        doc="v itself, after checking that it has like's shape: the result of x op= v, which "
            "NumPy computes into x's own memory (ValueError when v broadcasts beyond x)")


def _expand_vjp(b, xs, outs, cts, p, act):
    from .registry import fit
    return [fit(b, cts[0], xs[0]), None]


_linear("expand_like", 2, lambda c, like: c + np.zeros_like(like),
        lambda ts, p: [Type(ts[0].dtype, ts[1].ndim)], "{0} + np.zeros_like({1})",
        jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else b.expand_like(ts[0], xs[1])],
        vjp=_expand_vjp, domain=[(-2, 2), (-2, 2)], extra={"test_shape": [(3,), (2, 3)]},
        doc="broadcast c to the shape of like")


def _bcast_like_impl(x, y, dtype, ranks, view=False):
    shape = np.broadcast_shapes(np.shape(x), np.shape(y))
    return np.broadcast_to(x if view else np.zeros((), Type(dtype).np_dtype), shape)


def _bcast_like_cpu(args, p):
    """The broadcast shape as a tuple of (right-aligned) extents: Numba's np.broadcast_shapes
    allocates four arrays per call.  A view of x when x has the dtype (no allocation)."""
    x, y = args
    (rx, ry), dt = p["ranks"], p["dtype"]
    n = max(rx, ry)
    dims = []
    for j in range(n):
        jx, jy = j - (n - rx), j - (n - ry)
        if jx < 0:
            dims.append(f"{y}.shape[{jy}]")
        elif jy < 0:
            dims.append(f"{x}.shape[{jx}]")
        else:  # the operands did broadcast (the stood-in op ran): 1 or equal
            dims.append(f"({y}.shape[{jy}] if {x}.shape[{jx}] == 1 else {x}.shape[{jx}])")
    base = x if p.get("view") else f"{_NPD[dt]}(0)"
    return f"np.broadcast_to({base}, ({', '.join(dims)},))"


register(Primitive(
    "bcast_like", 2, _bcast_like_impl,
    lambda ts, p: [Type(p["dtype"], max(t.ndim for t in ts))], "none",
    jvp=lambda b, xs, outs, ts, p: [None], vjp=lambda b, xs, outs, cts, p, act: [None, None],
    cpu=_bcast_like_cpu, differentiable=False,
    doc="a read-only array of dtype with the broadcast shape of x and y, read only for its "
        "shape (a stride-0 view: of x when ``view``, x then having that dtype); stands in for an "
        "elementwise result (passes/shapes.py)"))

# ----------------------------------------------------------------------------- reductions

def _fold_reduction(name):
    """A reduction of a 1-D array over its only axis is the full reduction (a scalar, not an
    axis reduction whose adjoint would expand a scalar's dims)."""
    def fold(b, xs, p):
        if p["axis"] is not None and not p["keepdims"] and xs[0].type.ndim == 1:
            return b.emit(name, xs[0], axis=None, keepdims=False)
        return None
    return fold


def _reduced_type(t: Type, axis, keepdims) -> Type:
    if axis is None:
        return Type(t.dtype, t.ndim if keepdims else 0)
    return Type(t.dtype, t.ndim if keepdims else t.ndim - 1)


def _sum_cpu(args, p):
    axis, keep = p["axis"], p["keepdims"]
    if axis is None:  # keepdims with axis=None is rejected by the frontend
        return f"np.sum({args[0]})"
    s = f"np.sum({args[0]}, axis={axis})"
    return f"np.expand_dims({s}, {axis})" if keep else s


def _sum_vjp(b, xs, outs, cts, p, act):
    ct = cts[0]
    if ct is None:
        return [None]
    if p["axis"] is not None and not p["keepdims"]:
        ct = b.expand_dims(ct, axis=p["axis"])
    return [b.expand_like(ct, xs[0])]


register(Primitive(
    "sum", 1, lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
    lambda ts, p: [_reduced_type(ts[0], p["axis"], p["keepdims"])], "none",
    jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else b.sum(ts[0], **p)],
    vjp=_sum_vjp, cpu=_sum_cpu, domain=[(-2, 2)], fold=_fold_reduction("sum"),
    extra={"test_params": {"axis": None, "keepdims": False}, "test_shape": [(2, 3)]},
    doc="np.sum(x, axis=None | int, keepdims)"))


def _hits(b, x, m, p):
    """1.0 where x equals its extremum m (m brought back to x's rank), else 0.0."""
    if p["axis"] is not None and not p["keepdims"]:
        m = b.expand_dims(m, axis=p["axis"])
    return b.convert(b.eq(x, m), to=x.type.dtype)


def _amax_vjp(b, xs, outs, cts, p, act):
    """The cotangent goes to the maximal entries, shared equally among ties."""
    ct = cts[0]
    if ct is None:
        return [None]
    x = xs[0]
    hit = _hits(b, x, outs[0], p)
    if p["axis"] is not None and not p["keepdims"]:
        ct = b.expand_dims(ct, axis=p["axis"])
    count = b.sum(hit, axis=p["axis"], keepdims=True) if p["axis"] is not None else \
        b.sum(hit, axis=None, keepdims=False)
    return [b.mul(hit, b.div(ct, count))]


def _amax_jvp(b, xs, outs, ts, p):
    t = ts[0]
    if t is None:
        return [None]
    hit = _hits(b, xs[0], outs[0], p)
    count = b.sum(hit, **p)
    return [b.div(b.sum(b.mul(hit, t), **p), count)]


for _name, _fn in (("amax", "max"), ("amin", "min")):
    def _cpu(args, p, _fn=_fn):
        if p["axis"] is None:
            return f"np.{_fn}({args[0]})"
        return (f"_rt.reduce_{_fn}({args[0]}, {p['axis']})" if not p["keepdims"] else
                f"np.expand_dims(_rt.reduce_{_fn}({args[0]}, {p['axis']}), {p['axis']})")
    register(Primitive(
        _name, 1, (lambda f: lambda x, axis, keepdims: f(x, axis=axis, keepdims=keepdims))(
            getattr(np, _fn)),
        lambda ts, p: [_reduced_type(ts[0], p["axis"], p["keepdims"])], "none",
        jvp=_amax_jvp, vjp=_amax_vjp, cpu=_cpu, cost=2, domain=[(-2, 2)],
        fold=_fold_reduction(_name),
        extra={"test_params": {"axis": None, "keepdims": False}, "test_shape": [(2, 3)]},
        doc=f"np.{_fn}(x, axis, keepdims); the derivative goes to the extremal entries"))


# ----------------------------------------------------------------------------- shapes

def _dim_type(ts, p):
    return [I64]


register(Primitive(
    "dim", 1, lambda x, axis: np.int64(np.shape(x)[axis]), _dim_type, "none",
    jvp=lambda b, xs, outs, ts, p: [None], vjp=lambda b, xs, outs, cts, p, act: [None],
    cpu=lambda args, p: f"{args[0]}.shape[{p['axis']}]", differentiable=False,
    doc="x.shape[axis]"))

_linear("expand_dims", 1, lambda x, axis: np.expand_dims(x, axis),
        lambda ts, p: [Type(ts[0].dtype, ts[0].ndim + 1)],
        lambda args, p: f"np.expand_dims({args[0]}, {p['axis']})",
        jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else b.expand_dims(ts[0], **p)],
        vjp=lambda b, xs, outs, cts, p, act: [b.squeeze(cts[0], **p)], domain=[(-2, 2)],
        extra={"test_shape": [(3,)], "test_params": {"axis": 0}})
_linear("squeeze", 1, lambda x, axis: np.squeeze(x, axis),
        lambda ts, p: [Type(ts[0].dtype, ts[0].ndim - 1)],
        lambda args, p: f"np.sum({args[0]}, axis={p['axis']})",  # the axis has length 1
        jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else b.squeeze(ts[0], **p)],
        vjp=lambda b, xs, outs, cts, p, act: [b.expand_dims(cts[0], **p)], domain=[(-2, 2)],
        extra={"test_shape": [(1, 3)], "test_params": {"axis": 0}})
_linear("transpose", 1, lambda x: np.transpose(x), lambda ts, p: [ts[0]], "{0}.T",
        jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else b.transpose(ts[0])],
        vjp=lambda b, xs, outs, cts, p, act: [b.transpose(cts[0])],
        extra={"test_shape": [(2, 3)]}, domain=[(-2, 2)])
_linear("flip", 1, lambda x: np.flip(x, 0), lambda ts, p: [ts[0]], "{0}[::-1]",
        jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else b.flip(ts[0])],
        vjp=lambda b, xs, outs, cts, p, act: [b.flip(cts[0])],
        extra={"test_shape": [(4,)]}, domain=[(-2, 2)],
        doc="x[::-1]: the first axis reversed (a view); negative slice steps slice it")
_linear("copy", 1, lambda x: np.array(x, copy=True), lambda ts, p: [ts[0]], "{0}.copy()",
        jvp=lambda b, xs, outs, ts, p: [None if ts[0] is None else b.copy(ts[0])],
        vjp=lambda b, xs, outs, cts, p, act: [cts[0]], extra={"test_shape": [(3,)]},
        domain=[(-2, 2)], pointwise=True)


# ----------------------------------------------------------------------------- linear algebra

def _dot_type(ts, p):
    a, b = ts
    nd = {(1, 1): 0, (2, 1): 1, (1, 2): 1, (2, 2): 2}.get((a.ndim, b.ndim))
    if nd is None:
        raise TypeError(f"dot of ranks {a.ndim} and {b.ndim} is not supported")
    return [Type(promote(a, b).dtype, nd)]


def _dot_vjp(b, xs, outs, cts, p, act):
    ct = cts[0]
    if ct is None:
        return [None, None]
    a, c = xs
    ra, rc = a.type.ndim, c.type.ndim
    abar = cbar = None
    if act[0]:
        abar = (b.mul(ct, c) if (ra, rc) == (1, 1) else
                b.outer(ct, c) if (ra, rc) == (2, 1) else
                b.dot(c, ct) if (ra, rc) == (1, 2) else b.dot(ct, b.transpose(c)))
    if act[1]:
        cbar = (b.mul(ct, a) if (ra, rc) == (1, 1) else
                b.dot(b.transpose(a), ct) if (ra, rc) == (2, 1) else
                b.outer(a, ct) if (ra, rc) == (1, 2) else b.dot(b.transpose(a), ct))
    return [abar, cbar]


def _dot_jvp(b, xs, outs, ts, p):
    return [add_tangents(b, [None if ts[0] is None else b.dot(ts[0], xs[1]),
                             None if ts[1] is None else b.dot(xs[0], ts[1])])]


register(Primitive(
    "dot", 2, np.dot, _dot_type, "same", _dot_jvp, _dot_vjp, "np.dot({0}, {1})", cost=2,
    domain=[(-2, 2), (-2, 2)], extra={"test_shape": [(2, 3), (3,)]},
    doc="np.dot / @ for 1-D and 2-D operands (Numba calls BLAS)"))

register(Primitive(
    "outer", 2, np.outer, lambda ts, p: [Type(promote(*ts).dtype, 2)], "same",
    lambda b, xs, outs, ts, p: [add_tangents(b, [
        None if ts[0] is None else b.outer(ts[0], xs[1]),
        None if ts[1] is None else b.outer(xs[0], ts[1])])],
    lambda b, xs, outs, cts, p, act: [b.dot(cts[0], xs[1]) if act[0] else None,
                                      b.dot(xs[0], cts[0]) if act[1] else None],
    "np.outer({0}, {1})", cost=2, domain=[(-2, 2), (-2, 2)],
    extra={"test_shape": [(2,), (3,)]}, doc="np.outer of two vectors"))


# ----------------------------------------------------------------------------- indexing

def _getitem_type(ts, p):
    x = ts[0]
    return [Type(x.dtype, x.ndim - (len(ts) - 1))]


def _getitem_impl(x, *idx):
    return x[tuple(int(i) for i in idx)]


def _getitem_vjp(b, xs, outs, cts, p, act):
    if cts[0] is None or not act[0]:
        return [None] * len(xs)
    return [Sparse("index", list(xs[1:]), cts[0])] + [None] * (len(xs) - 1)


def _getitem_jvp(b, xs, outs, ts, p):
    return [None if ts[0] is None else b.emit("getitem", ts[0], *xs[1:])]


class _Getitem(Primitive):
    """x[i], x[i, j], ... with integer indices (nin varies: 1 + number of indices)."""


_gi = register(_Getitem(
    "getitem", -1, _getitem_impl, _getitem_type, "none", _getitem_jvp, _getitem_vjp,
    lambda args, p: f"{args[0]}[{', '.join(args[1:])}]", domain=[(-2, 2)],
    extra={"test_shape": [(4,)], "test_index": [2]}, doc="x[i, ...] with integer indices"))


def _slice_impl(x, start, stop, step):
    return x[int(start):int(stop):int(step)]


register(Primitive(
    "getslice", 4, _slice_impl, lambda ts, p: [ts[0]], "none",
    lambda b, xs, outs, ts, p: [None if ts[0] is None else b.getslice(ts[0], *xs[1:])],
    lambda b, xs, outs, cts, p, act: [
        Sparse("slice", list(xs[1:]), cts[0]) if cts[0] is not None and act[0] else None,
        None, None, None],
    # no ":1": Numba types x[a:b] of a C-contiguous array as contiguous, x[a:b:1] not
    lambda a, p: f"{a[0]}[{a[1]}:{a[2]}]" if a[3] == "1" else f"{a[0]}[{a[1]}:{a[2]}:{a[3]}]",
    domain=[(-2, 2)], extra={"test_shape": [(6,)], "test_index": [1, 5, 2]},
    doc="x[start:stop:step] along the first axis"))


def _index_add_impl(acc, *rest):
    out = np.array(acc, copy=True)
    *idx, v = rest
    out[tuple(int(i) for i in idx)] += v
    return out


def _slice_add_impl(acc, start, stop, step, v):
    out = np.array(acc, copy=True)
    out[int(start):int(stop):int(step)] += v
    return out


def _add_at_jvp(prim):
    """Tangent of acc (+)= v at an index: the same update on the tangent buffer (a fresh one
    when acc's tangent is zero), so forward-over-reverse (Hessians) sees these updates."""
    def jvp(b, xs, outs, ts, p):
        t_acc, t_v = ts[0], ts[-1]
        if t_acc is None and t_v is None:
            return [None]
        base = t_acc if t_acc is not None else b.zeros_like(xs[0])
        v = t_v if t_v is not None else b.const(0.0, Type(xs[-1].type.dtype))
        return [b.emit(prim, base, *xs[1:-1], v)]
    return jvp


def _no_vjp(b, xs, outs, cts, p, act):
    raise NotImplementedError("reverse mode over an adjoint buffer update")


# Adjoint buffers: written in place by the generated code (reverse mode owns them).
register(Primitive(
    "index_add", -1, _index_add_impl, lambda ts, p: [ts[0]], "none",
    _add_at_jvp("index_add"), _no_vjp,
    lambda args, p: f"{args[0]}[{', '.join(args[1:-1])}] += {args[-1]}",
    extra={"inplace": True}, differentiable=False,  # reverse-mode internal (has a JVP)
    doc="acc[i, ...] += v in place (adjoint of x[i, ...]); reverse mode only"))
register(Primitive(
    "slice_add", 5, _slice_add_impl, lambda ts, p: [ts[0]], "none",
    _add_at_jvp("slice_add"), _no_vjp,
    lambda args, p: f"{args[0]}[{args[1]}:{args[2]}:{args[3]}] += {args[4]}",
    extra={"inplace": True}, differentiable=False,  # reverse-mode internal (has a JVP)
    doc="acc[a:b:c] += v in place (adjoint of x[a:b:c]); reverse mode only"))


# ----------------------------------------------------------------------------- general indexing
# ``spec`` says per leading axis whether it is indexed by an int ("i": one input) or a slice
# ("s": three inputs, start, stop, step, already normalized by the frontend); the remaining
# axes are taken whole.  ``take`` reads (a view when it has slices), ``put`` writes: functional
# in the IR (a new version of the array), in place in generated code.  A pass before codegen
# (passes/inplace.py) copies the buffer first when the old version is still needed.

def _spec_index(idx, spec):
    out, k = [], 0
    for s in spec:
        if s == "i":
            out.append(int(idx[k]))
            k += 1
        else:
            out.append(slice(int(idx[k]), int(idx[k + 1]), int(idx[k + 2])))
            k += 3
    return tuple(out)


def spec_text(args: list[str], spec) -> str:
    parts, k = [], 0
    for s in spec:
        if s == "i":
            parts.append(args[k])
            k += 1
        else:
            step = "" if args[k + 2] == "1" else f":{args[k + 2]}"
            parts.append(f"{args[k]}:{args[k + 1]}{step}")
            k += 3
    return ", ".join(parts)


def _take_type(ts, p):
    x = ts[0]
    return [Type(x.dtype, x.ndim - p["spec"].count("i"))]


def _take_jvp(b, xs, outs, ts, p):
    return [None if ts[0] is None else b.emit("take", ts[0], *xs[1:], **p)]


def _take_vjp(b, xs, outs, cts, p, act):
    if cts[0] is None or not act[0]:
        return [None] * len(xs)
    return [Sparse("spec", list(xs[1:]), cts[0], p["spec"])] + [None] * (len(xs) - 1)


register(Primitive(
    "take", -1, lambda x, *idx, spec: x[_spec_index(idx, spec)], _take_type, "none",
    _take_jvp, _take_vjp, lambda args, p: f"{args[0]}[{spec_text(args[1:], p['spec'])}]",
    domain=[(-2, 2)], extra={"test_shape": [(4, 3)], "test_index": [1, 0, 3, 1],
                             "test_params": {"spec": ("i", "s")}, "view": True},
    doc="x[i, a:b:c, ...]: ints and slices on the leading axes (a view if it has slices)"))


def _put_impl(x, v, *idx, spec):
    out = np.array(x, copy=True)
    out[_spec_index(idx, spec)] = v
    return out


def _zero_of(b, v: Value) -> Value:
    return b.const(0.0, Type(v.type.dtype)) if v.type.is_float else b.const(0, Type(v.type.dtype))


def _write_jvp(prim):
    """Tangent of a write x[idx] (+)= v (put, put_add): the same write on the tangents (a
    fresh zero buffer when x's tangent is zero, a zero value when v's is)."""
    def jvp(b, xs, outs, ts, p):
        tx, tv = ts[0], ts[1]
        if tx is None and tv is None:
            return [None]
        base = tx if tx is not None else b.zeros_like(xs[0])
        v = tv if tv is not None else _zero_of(b, xs[0])
        return [b.emit(prim, base, v, *xs[2:], **p)]
    return jvp


def _put_vjp(b, xs, outs, cts, p, act):
    """x[idx] = v: v's cotangent is ct[idx] (summed to v's shape); x's is ct with ct[idx] = 0."""
    from .registry import fit
    ct = cts[0]
    if ct is None:
        return [None] * len(xs)
    idx = xs[2:]
    cv = None
    if act[1]:
        cv = b.emit("take", ct, *idx, **p)
        if cv.type.ndim:
            cv = b.copy(cv)  # ct is updated in place below
        cv = fit(b, cv, xs[1])
    cx = b.emit("put", ct, _zero_of(b, ct), *idx, **p) if act[0] else None
    return [cx, cv] + [None] * len(idx)


register(Primitive(
    "put", -1, _put_impl, lambda ts, p: [ts[0]], "none", _write_jvp("put"), _put_vjp,
    lambda args, p: f"{args[0]}[{spec_text(args[2:], p['spec'])}] = {args[1]}",
    domain=[(-2, 2), (-2, 2)],
    extra={"test_shape": [(4, 3), (3,)], "test_index": [1, 0, 3, 1],
           "test_params": {"spec": ("i", "s")}, "inplace": True},
    doc="x[i, a:b:c, ...] = v as a new version of x (in place in generated code)"))


def _put_add_impl(acc, v, *idx, spec):
    out = np.array(acc, copy=True)
    out[_spec_index(idx, spec)] += v
    return out


register(Primitive(
    "put_add", -1, _put_add_impl, lambda ts, p: [ts[0]], "none", _write_jvp("put_add"), _no_vjp,
    lambda args, p: f"{args[0]}[{spec_text(args[2:], p['spec'])}] += {args[1]}",
    extra={"inplace": True}, differentiable=False,  # reverse-mode internal (has a JVP)
    doc="acc[i, a:b:c, ...] += v in place (adjoint of take); reverse mode only"))


# ----------------------------------------------------------------------------- strong zeros

def _mask_impl(v, c):
    if np.shape(c) != np.shape(v):
        return v
    return np.where(c, v, np.zeros_like(v))


register(Primitive(
    "mask", 2, _mask_impl, lambda ts, p: [ts[0]], "none",
    lambda b, xs, outs, ts, p: [None if ts[0] is None else b.mask(ts[0], xs[1])],
    lambda b, xs, outs, cts, p, act: [None if cts[0] is None else b.mask(cts[0], xs[1]), None],
    "({0} if {1} else 0.0)", arr="_rt.mask({0}, {1})", differentiable=False, pointwise=True,
    doc="v where c else 0 (when c has v's shape): keeps NaN/inf of an untaken np.where side "
        "out of reverse-mode cotangents"))


# ----------------------------------------------------------------------------- creation

def _zeros_type(ts, p):
    return [Type(p["dtype"], len(ts))]


def _creation(name, fill):
    def impl(*shape, dtype):
        return np.full(tuple(int(s) for s in shape), fill, dtype=Type(dtype).np_dtype)

    def cpu(args, p):
        shape = f"({', '.join(args)},)"
        return f"np.full({shape}, {fill!r}, {_NPD[p['dtype']]})"
    register(Primitive(
        name, -1, impl, _zeros_type, "none", lambda b, xs, outs, ts, p: [None],
        lambda b, xs, outs, cts, p, act: [None] * len(xs), cpu, differentiable=False,
        extra={"fresh": True}, doc=f"np.{name}(shape) of a dtype"))


_creation("zeros", 0.0)
_creation("ones", 1.0)

register(Primitive(
    "zeros_like", 1, lambda x: np.zeros_like(x), lambda ts, p: [ts[0]], "none",
    lambda b, xs, outs, ts, p: [None], lambda b, xs, outs, cts, p, act: [None],
    "np.zeros_like({0})", differentiable=False, extra={"fresh": True},
    doc="a new zero array shaped like x"))
