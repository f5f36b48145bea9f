"""Lowering of NumPy array code: attributes (``x.shape``, ``x.T``), methods (``x.sum()``),
subscripts (``x[i]``, ``x[i, j]``, ``x[a:b]``) and array library calls (reductions, ``dot``,
creation)."""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

import numpy as np

from ..errors import SrcadTypeError, UnsupportedCallError, UnsupportedSyntaxError
from ..ir.core import Value
from ..ir.types import I64
from .calls import CALLS, _args


@dataclass(frozen=True)
class Method:
    """``x.sum`` before it is called."""
    value: Value
    name: str


def _tuple(items):
    from .lower import TupleV
    return TupleV(tuple(items))


def array_attribute(lw, x: Value, attr: str, node):
    b = lw.b
    if attr == "shape":
        return _tuple(b.dim(x, axis=k) for k in range(x.type.ndim))
    if attr == "ndim":
        return b.const(x.type.ndim)
    if attr == "size":
        return size(lw, x)
    if attr == "T":
        return lw.view(b.transpose(x), x) if x.type.ndim == 2 else x
    if attr in _METHODS:
        return Method(x, attr)
    from . import library
    found = library.attribute(lw, x, attr, node)
    if found is not None:
        return found
    raise UnsupportedSyntaxError(f"array attribute '.{attr}' is not supported yet", lw.loc(node))


def size(lw, x: Value, axes=None) -> Value:
    """Number of elements of x (over ``axes`` only, if given), as an int."""
    b = lw.b
    n = b.const(1)
    for k in (range(x.type.ndim) if axes is None else axes):
        n = b.mul(n, b.dim(x, axis=k))
    return n


def call_method(lw, m: Method, args, kwargs, node):
    return _METHODS[m.name](lw, [m.value, *args], kwargs, node)


# ----------------------------------------------------------------------------- subscripts

def _is_full(it) -> bool:
    return isinstance(it, ast.Slice) and it.lower is None and it.upper is None and it.step is None


def _is_none(it) -> bool:
    return isinstance(it, ast.Constant) and it.value is None


def subscript(lw, x: Value, index: ast.AST, node):
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    if len(items) == 1 and not isinstance(items[0], ast.Slice) and not _is_none(items[0]):
        idx = lw.expr(items[0])
        if isinstance(idx, Value) and idx.type.ndim:  # x[idx] with an int or bool array
            from . import library
            return library.array_index(lw, x, idx, node)
        out = lw.b.emit("getitem", x, lw.int_value(idx, items[0]))
        return lw.view(out, x) if out.type.ndim else out
    if any(_is_none(it) for it in items):  # x[:, None], x[None, :], x[None]
        if not all(_is_none(it) or _is_full(it) for it in items):
            raise UnsupportedSyntaxError("np.newaxis/None can only be combined with ':' for "
                                         "now", lw.loc(node))
        base = x
        for k, it in enumerate(items):
            if _is_none(it):
                x = lw.b.expand_dims(x, axis=k)
        return lw.view(x, base)
    if x.type.ndim == 2 and len(items) == 2 and _is_full(items[0]) and \
            not isinstance(items[1], ast.Slice):  # a column x[:, j]
        return lw.view(lw.b.emit("getitem", lw.b.transpose(x),
                                 lw.int_value(lw.expr(items[1]), node)), x)
    if len(items) >= 2 and all(_is_full(it) for it in items[1:]):  # x[i, :] is x[i]
        items = items[:1]
    if len(items) > x.type.ndim:
        raise SrcadTypeError(f"too many indices for a {x.type.ndim}-d array", lw.loc(node))
    if len(items) == 1 and isinstance(items[0], ast.Slice):
        sl = items[0]
        start, stop, step = (_slice_part(lw, part, node) for part in (sl.lower, sl.upper,
                                                                        sl.step))
        step_v = step if step is not None else lw.b.const(1)
        n = lw.b.dim(x, axis=0)
        if not step_v.is_const:  # its sign decides how the bounds are read
            raise UnsupportedSyntaxError("a slice step must be an int literal (x[a:b:2], "
                                         "x[::-1])", lw.loc(node))
        if step_v.const == 0:
            raise SrcadTypeError("slice step cannot be zero", lw.loc(node))
        if step_v.const < 0:  # x[a:b:-k] is x[::-1][n-1-a : n-1-b : k] (Python's bounds)
            rev = lw.b.flip(x)
            start = lw.b.const(0) if start is None else _wrap_reversed(lw, start, n)
            stop = n if stop is None else _wrap_reversed(lw, stop, n)
            return lw.view(lw.b.getslice(rev, start, stop, lw.b.const(-step_v.const)), x)
        start = lw.b.const(0) if start is None else _wrap(lw, start, n)
        stop = n if stop is None else _wrap(lw, stop, n)
        return lw.view(lw.b.getslice(x, start, stop, step_v), x)
    if any(isinstance(it, ast.Slice) for it in items):
        spec, idx = index_spec(lw, x, index, node)
        return lw.view(lw.b.emit("take", x, *idx, spec=spec), x)
    idx = [lw.int_value(lw.expr(it), it) for it in items]
    out = lw.b.emit("getitem", x, *idx)
    return lw.view(out, x) if out.type.ndim else out


def index_spec(lw, x: Value, index: ast.AST, node) -> tuple[tuple, list[Value]]:
    """The (spec, index values) of ``x[index]`` made of ints and slices (see the ``take``
    primitive): slices are normalized to (start, stop, step) with Python's rules."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    if len(items) > x.type.ndim:
        raise SrcadTypeError(f"too many indices for a {x.type.ndim}-d array", lw.loc(node))
    b = lw.b
    spec: list[str] = []
    vals: list[Value] = []
    for k, it in enumerate(items):
        if isinstance(it, ast.Slice):
            start, stop, step = (_slice_part(lw, part, node) for part in (it.lower, it.upper,
                                                                          it.step))
            if step is not None and not (step.is_const and step.const > 0):
                raise UnsupportedSyntaxError("slice steps must be positive int literals here",
                                             lw.loc(it))
            n = b.dim(x, axis=k)
            spec.append("s")
            vals += [b.const(0) if start is None else _wrap(lw, start, n),
                     n if stop is None else _wrap(lw, stop, n),
                     step if step is not None else b.const(1)]
        elif _is_none(it) or (isinstance(it, ast.Constant) and it.value is Ellipsis):
            raise UnsupportedSyntaxError("None/... are not supported in this index",
                                         lw.loc(it))
        else:
            v = lw.expr(it)
            if isinstance(v, Value) and v.type.ndim:
                raise UnsupportedSyntaxError("an array index is not supported here (only ints "
                                             "and slices)", lw.loc(it))
            spec.append("i")
            vals.append(lw.int_value(v, it))
    while len(spec) > 1 and spec[-1] == "s" and _is_full(items[len(spec) - 1]):
        spec.pop()  # x[i, :] is x[i]
        del vals[-3:]
    return tuple(spec), vals


def _slice_part(lw, part, node):
    if part is None:
        return None
    return lw.int_value(lw.expr(part), part)


def _wrap(lw, i: Value, n: Value) -> Value:
    """Python's negative slice bounds, clipped to [0, n]."""
    b = lw.b
    if i.is_const and i.const >= 0:
        return b.minimum(i, n)
    return b.maximum(b.const(0), b.minimum(b.select(b.lt(i, b.const(0)), b.add(i, n), i), n))


def _wrap_reversed(lw, i: Value, n: Value) -> Value:
    """A bound of a negative-step slice as an index into the reversed array: Python clips it
    to [-1, n-1] (-1: before the first element) after adding n to a negative one."""
    b = lw.b
    j = b.select(b.lt(i, b.const(0)), b.add(i, n), i)
    j = b.maximum(b.const(-1), b.minimum(j, b.sub(n, b.const(1))))
    return b.sub(b.sub(n, b.const(1)), j)


# ----------------------------------------------------------------------------- reductions

def _axis(lw, x: Value, axis, node):
    """Normalize an axis argument: None, an int, or a tuple of ints (literals)."""
    from .lower import TupleV
    if axis is None:
        return None
    vals = axis.items if isinstance(axis, TupleV) else (axis,)
    out = []
    for a in vals:
        if not (isinstance(a, Value) and a.is_const and a.type == I64):
            raise UnsupportedSyntaxError("axis must be an int literal or a tuple of them",
                                         lw.loc(node))
        k = a.const + x.type.ndim if a.const < 0 else a.const
        if not 0 <= k < x.type.ndim:
            raise SrcadTypeError(f"axis {a.const} is out of range for a {x.type.ndim}-d array",
                                 lw.loc(node))
        out.append(k)
    return tuple(sorted(out, reverse=True))


def _reduce(prim):
    def handler(lw, args, kwargs, node):
        x, axis, keep = _reduce_args(lw, prim, args, kwargs, node)
        return _apply(lw, prim, x, axis, keep, node)
    return handler


def _reduce_args(lw, name, args, kwargs, node):
    args = list(args)
    axis = kwargs.pop("axis", args[1] if len(args) > 1 else None)
    keep = kwargs.pop("keepdims", None)
    if kwargs or len(args) > 2:
        raise UnsupportedCallError(f"{name}: only axis= and keepdims= are supported",
                                   lw.loc(node))
    x = lw.as_value(args[0], node)
    keepdims = isinstance(keep, Value) and keep.is_const and bool(keep.const)
    return x, _axis(lw, x, axis, node) if x.type.ndim else None, keepdims


def _apply(lw, prim, x, axes, keep, node):
    b = lw.b
    if x.type.ndim == 0:
        return x
    if axes is None and keep:  # every axis, each kept as length 1
        axes = tuple(range(x.type.ndim - 1, -1, -1))
    if axes is None or (len(axes) == x.type.ndim and not keep):  # every axis: one reduction
        return b.emit(prim, x, axis=None, keepdims=False)
    if prim in ("amax", "amin") and x.type.ndim > 2:
        raise UnsupportedCallError(
            f"np.{prim[1:]} along some axes (or with keepdims) of a {x.type.ndim}-d array is "
            "not supported",
            lw.loc(node), "reduce over all axes, or reshape to 2-D first (e.g. "
            "x.reshape(-1, x.shape[-1]).max(axis=0))")
    for k in axes:  # descending, so earlier axes keep their numbers
        x = b.emit(prim, x, axis=k, keepdims=keep)
    return x


def _count(lw, x: Value, axes) -> Value:
    """size(x, axes) as a float of x's precision (the divisor of a mean)."""
    return lw.b.convert(size(lw, x, axes), to="f64" if x.type.dtype != "f32" else "f32")


def _mean(lw, args, kwargs, node):
    x, axes, keep = _reduce_args(lw, "mean", args, kwargs, node)
    if x.type.ndim == 0:
        return x
    return lw.b.div(_apply(lw, "sum", x, axes, keep, node), _count(lw, x, axes))


def _var(lw, args, kwargs, node, std=False):
    kwargs = dict(kwargs)
    ddof = kwargs.pop("ddof", None)
    x, axes, keep = _reduce_args(lw, "var", args, kwargs, node)
    b = lw.b
    mu = b.div(_apply(lw, "sum", x, axes, axes is not None, node),
               _count(lw, x, axes))
    d = b.sub(x, mu)
    n = _count(lw, x, axes)
    if ddof is not None:
        n = b.sub(n, lw.as_value(ddof, node))
    v = b.div(_apply(lw, "sum", b.mul(d, d), axes, keep, node), n)
    return b.sqrt(v) if std else v


def _dot(lw, args, kwargs, node):
    a, c = _args(lw, "dot", args, kwargs, node, 2)
    if a.type.ndim == 0 or c.type.ndim == 0:
        return lw.b.mul(a, c)
    return lw.b.dot(a, c)


def _outer(lw, args, kwargs, node):
    a, c = _args(lw, "outer", args, kwargs, node, 2)
    return lw.b.outer(a, c)


def _norm(lw, args, kwargs, node):
    (x,) = _args(lw, "norm", args, kwargs, node, 1)
    return lw.b.sqrt(lw.b.sum(lw.b.mul(x, x), axis=None, keepdims=False))


def _len(lw, args, kwargs, node):
    (x,) = _args(lw, "len", args, kwargs, node, 1)
    if x.type.ndim == 0:
        raise SrcadTypeError("len() of a number", lw.loc(node))
    return lw.b.dim(x, axis=0)


def _shape_arg(lw, shape, node) -> list[Value]:
    from .lower import TupleV
    items = shape.items if isinstance(shape, TupleV) else (shape,)
    return [lw.int_value(s, node) for s in items]


def _dtype_arg(lw, kwargs, node, default="f64"):
    dt = kwargs.pop("dtype", None)
    if dt is None:
        return default
    table = {float: "f64", np.float64: "f64", np.float32: "f32", int: "i64", np.int64: "i64",
             bool: "bool", np.bool_: "bool"}
    if dt not in table:
        raise UnsupportedCallError(f"dtype {dt!r} is not supported", lw.loc(node))
    return table[dt]


def _creation(prim):
    def handler(lw, args, kwargs, node):
        kwargs = dict(kwargs)
        dtype = _dtype_arg(lw, kwargs, node)
        if len(args) != 1 or kwargs:
            raise UnsupportedCallError(f"np.{prim}(shape, dtype=...) only", lw.loc(node))
        return lw.b.emit(prim, *_shape_arg(lw, args[0], node), dtype=dtype)
    return handler


def _like(prim):
    def handler(lw, args, kwargs, node):
        kwargs = dict(kwargs)
        (x,) = _args(lw, prim + "_like", args, {}, node, 1)
        dtype = _dtype_arg(lw, kwargs, node, x.type.dtype)
        shape = [lw.b.dim(x, axis=k) for k in range(x.type.ndim)]
        return lw.b.emit(prim, *shape, dtype=dtype)
    return handler


def _copy(lw, args, kwargs, node):
    (x,) = _args(lw, "copy", args, kwargs, node, 1)
    return lw.b.copy(x) if x.type.ndim else x


def _unary_array(prim, name):
    def handler(lw, args, kwargs, node):
        (x,) = _args(lw, name, args, kwargs, node, 1)
        return lw.b.emit(prim, x)
    return handler


def _flat_unary(prim):
    """np.cumsum / np.argmax / np.argmin without an axis: over the flattened array."""
    def handler(lw, args, kwargs, node):
        (x,) = _args(lw, prim, args, kwargs, node, 1)
        if x.type.ndim > 1:
            x = lw.b.reshape(x, size(lw, x))
        return lw.b.emit(prim, x)
    return handler


def _solve(lw, args, kwargs, node):
    a, rhs = _args(lw, "solve", args, kwargs, node, 2)
    return lw.b.solve(a, rhs)


def _reshape(lw, args, kwargs, node):
    from .lower import TupleV
    x = lw.as_value(args[0], node)
    shape = args[1] if len(args) == 2 else TupleV(tuple(args[1:]))
    dims = _shape_arg(lw, shape, node)
    unknown = [k for k, d in enumerate(dims) if d.is_const and d.const == -1]
    if len(unknown) > 1:
        raise SrcadTypeError("can only specify one unknown dimension", lw.loc(node))
    if unknown:
        known = lw.b.const(1)
        for k, d in enumerate(dims):
            if k != unknown[0]:
                known = lw.b.mul(known, d)
        dims[unknown[0]] = lw.b.floordiv(size(lw, x), known)
    return lw.view(lw.b.reshape(x, *dims), x)


def _ravel(lw, args, kwargs, node):
    (x,) = _args(lw, "ravel", args, kwargs, node, 1)
    return lw.view(lw.b.reshape(x, size(lw, x)), x) if x.type.ndim != 1 else x


def _arrays_arg(lw, seq, node) -> list[Value]:
    from .lower import TupleV
    if not isinstance(seq, TupleV):
        raise UnsupportedSyntaxError("pass a tuple or list of arrays", lw.loc(node))
    return [lw.as_value(v, node) for v in seq.items]


def _axis_kw(lw, kwargs, args, node, default=0):
    a = kwargs.pop("axis", args[1] if len(args) > 1 else None)
    if a is None:
        return default
    if not (isinstance(a, Value) and a.is_const and a.type == I64):
        raise UnsupportedSyntaxError("axis must be an int literal", lw.loc(node))
    return a.const


def _concat_values(lw, xs, axis, node):
    nd = xs[0].type.ndim
    axis = axis + nd if axis < 0 else axis
    if nd not in (1, 2) or axis >= nd or any(x.type.ndim != nd for x in xs):
        raise UnsupportedSyntaxError("concatenate supports 1-D or 2-D arrays of one rank",
                                     lw.loc(node))
    return lw.b.concatenate(*xs, axis=axis)


def _concatenate(lw, args, kwargs, node):
    kwargs = dict(kwargs)
    return _concat_values(lw, _arrays_arg(lw, args[0], node),
                          _axis_kw(lw, kwargs, args, node), node)


def _stack(lw, args, kwargs, node):
    kwargs = dict(kwargs)
    axis = _axis_kw(lw, kwargs, args, node)
    xs = [lw.b.expand_dims(x, axis=axis) for x in _arrays_arg(lw, args[0], node)]
    return _concat_values(lw, xs, axis, node)


def _hstack(lw, args, kwargs, node):
    xs = _arrays_arg(lw, args[0], node)
    return _concat_values(lw, xs, 0 if xs[0].type.ndim == 1 else 1, node)


def _vstack(lw, args, kwargs, node):
    xs = [_atleast(lw, x, 2) for x in _arrays_arg(lw, args[0], node)]
    return _concat_values(lw, xs, 0, node)


def _atleast(lw, x: Value, nd: int) -> Value:
    if x.type.ndim == 0:
        x = lw.b.reshape(x if x.type.ndim else lw.b.add(lw.b.zeros(lw.b.const(1),
                                                                   dtype=x.type.dtype), x),
                         lw.b.const(1))
    while x.type.ndim < nd:
        x = lw.b.expand_dims(x, axis=0)
    return x


def _expand_dims(lw, args, kwargs, node):
    kwargs = dict(kwargs)
    x = lw.as_value(args[0], node)
    return lw.b.expand_dims(x, axis=_axis_kw(lw, kwargs, args, node) % (x.type.ndim + 1))


def _squeeze(lw, args, kwargs, node):
    kwargs = dict(kwargs)
    x = lw.as_value(args[0], node)
    return lw.b.squeeze(x, axis=_axis_kw(lw, kwargs, args, node) % x.type.ndim)


def _flip(lw, args, kwargs, node, axis0=False):
    """np.flip(x) of a 1-D x, np.flip(x, 0) / np.flip(x, axis=0), np.flipud(x): the first axis
    reversed (a view, as in NumPy)."""
    kwargs = dict(kwargs)
    x = lw.as_value(args[0], node)
    if x.type.ndim == 0:
        raise SrcadTypeError("np.flip needs an array", lw.loc(node))
    axis = 0 if axis0 else _axis_kw(lw, kwargs, args, node, default=None)
    if axis is None and x.type.ndim == 1:
        axis = 0
    if axis is None or axis % x.type.ndim != 0:
        raise UnsupportedSyntaxError("np.flip reverses the first axis only here: pass axis=0 "
                                     "(or write x[::-1])", lw.loc(node))
    return lw.view(lw.b.flip(x), x)


def _eye(lw, args, kwargs, node):
    kwargs = dict(kwargs)
    dtype = _dtype_arg(lw, kwargs, node)
    (n,) = _args(lw, "eye", args, kwargs, node, 1)
    return lw.b.eye(lw.int_value(n, node), dtype=dtype)


CALLS.update({
    np.linalg.det: _unary_array("det", "det"), np.linalg.inv: _unary_array("inv", "inv"),
    np.linalg.solve: _solve, np.trace: _unary_array("trace", "trace"),
    np.cumsum: _flat_unary("cumsum"), np.argmax: _flat_unary("argmax"),
    np.argmin: _flat_unary("argmin"), np.reshape: _reshape, np.ravel: _ravel,
    np.concatenate: _concatenate, np.stack: _stack, np.hstack: _hstack, np.vstack: _vstack,
    np.expand_dims: _expand_dims, np.squeeze: _squeeze, np.eye: _eye, np.flip: _flip,
    np.flipud: lambda lw, a, k, n: _flip(lw, a, k, n, axis0=True),
    np.atleast_1d: lambda lw, a, k, n: _atleast(lw, lw.as_value(a[0], n), 1),
    np.atleast_2d: lambda lw, a, k, n: _atleast(lw, lw.as_value(a[0], n), 2),
})

CALLS.update({
    np.sum: _reduce("sum"), np.max: _reduce("amax"), np.amax: _reduce("amax"),
    np.min: _reduce("amin"), np.amin: _reduce("amin"), np.mean: _mean,
    np.var: _var, np.std: lambda lw, a, k, n: _var(lw, a, k, n, std=True),
    np.dot: _dot, np.matmul: _dot, np.inner: _dot, np.outer: _outer,
    np.linalg.norm: _norm, builtins.len: _len,
    np.zeros: _creation("zeros"), np.ones: _creation("ones"),
    np.zeros_like: _like("zeros"), np.ones_like: _like("ones"), np.copy: _copy,
})

_METHODS = {
    "sum": _reduce("sum"), "max": _reduce("amax"), "min": _reduce("amin"), "mean": _mean,
    "var": _var, "std": lambda lw, a, k, n: _var(lw, a, k, n, std=True), "dot": _dot,
    "copy": _copy, "reshape": _reshape, "ravel": _ravel,
    "flatten": lambda lw, a, k, n: lw.b.copy(_ravel(lw, a, k, n)),  # a copy, never a view
    "cumsum": _flat_unary("cumsum"), "argmax": _flat_unary("argmax"),
    "argmin": _flat_unary("argmin"), "trace": _unary_array("trace", "trace"),
}
