"""More of the NumPy library: hooks called by frontend/arrays.py (owned by the library work).

* ``np.prod`` / ``x.prod()``; ``x.dtype`` (a NumPy scalar type, usable as ``dtype=x.dtype``);
  ``x.astype(dtype)``;
* creation: ``np.empty``, ``np.full``, ``np.empty_like``, ``np.full_like``, ``np.arange``,
  ``np.linspace`` (differentiable in start/stop), ``np.array`` / ``np.asarray`` of scalars,
  nested lists of scalars or equal-shaped arrays;
* ``x[idx]`` with a 1-D int array (a gather; its adjoint scatters with addition) and
  ``x[mask]`` with a bool array, as the argument of a reduction (``np.sum(x[m])``,
  ``x[m].mean()``, ...): the masked array has a data-dependent shape, so it is never built;
  ``sum``/``mean``/``max``/``min`` are written with ``np.where`` over the whole array;
* ``np.matmul`` with 3-D operands (batched), ``np.inner`` on 2-D operands,
  ``np.linalg.norm(x, ord, axis, keepdims)`` for vector norms.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

from ..errors import SrcadTypeError, UnsupportedCallError, UnsupportedSyntaxError
from ..ir.core import Value
from ..ir.types import Type, promote
from .arrays import _METHODS, Method, _apply, _axis, _dtype_arg, _reduce_args, _shape_arg
from .calls import CALLS, _args

def attribute(lw, x, attr: str, node):
    """``x.<attr>`` for attributes arrays.py does not handle; None if unknown."""
    if attr == "dtype":  # a compile-time constant: np.zeros(n, dtype=x.dtype)
        return x.type.np_dtype
    return None


# ----------------------------------------------------------------------------- prod

def _prod_apply(lw, x: Value, axes, keep, node):
    b = lw.b
    if x.type.ndim == 0:
        return x
    if x.type.dtype == "bool":
        x = b.convert(x, to="i64")
    if axes is not None and x.type.ndim == 1:
        axes = None  # the only axis
        if keep:
            return b.reshape(b.prod(x, axis=None, keepdims=False), b.const(1))
    if axes is None:
        if keep:
            raise UnsupportedSyntaxError("keepdims=True needs an axis for now", lw.loc(node))
        return b.prod(x, axis=None, keepdims=False)
    if x.type.ndim > 2:
        raise UnsupportedSyntaxError("np.prod with an axis supports 1-D and 2-D arrays",
                                     lw.loc(node), "reshape to 2-D first")
    for k in axes:
        x = b.prod(x, axis=k, keepdims=keep)
    return x


def _prod(lw, args, kwargs, node):
    x, axes, keep = _reduce_args(lw, "prod", args, dict(kwargs), node)
    return _prod_apply(lw, x, axes, keep, node)


def _astype(lw, args, kwargs, node):
    x = lw.as_value(args[0], node)
    if len(args) != 2 or kwargs:
        raise UnsupportedCallError("x.astype(dtype) only", lw.loc(node))
    dtype = _dtype_arg(lw, {"dtype": args[1]}, node)
    if dtype == "bool":
        return lw.b.ne(x, lw.b.const(0, Type(x.type.dtype)))
    return lw.b.convert(x, to=dtype)


# ----------------------------------------------------------------------------- creation

def _fill(lw, dims, v: Value, dtype: str):
    b = lw.b
    if dtype == "bool":
        return b.or_(b.zeros(*dims, dtype="bool"), v)
    return b.add(b.zeros(*dims, dtype=dtype), b.convert(v, to=dtype))


def _full(lw, args, kwargs, node):
    kwargs = dict(kwargs)
    shape, value = _args_raw(lw, "full", args, kwargs, node, ("shape", "fill_value"))
    v = lw.as_value(value, node)
    if v.type.ndim:
        raise UnsupportedCallError("np.full: the fill value must be a number", lw.loc(node))
    dtype = _dtype_arg(lw, kwargs, node, v.type.dtype)
    _no_more(lw, "full", kwargs, node)
    return _fill(lw, _shape_arg(lw, shape, node), v, dtype)


def _full_like(lw, args, kwargs, node):
    kwargs = dict(kwargs)
    like, value = _args_raw(lw, "full_like", args, kwargs, node, ("a", "fill_value"))
    x = lw.as_value(like, node)
    v = lw.as_value(value, node)
    dtype = _dtype_arg(lw, kwargs, node, x.type.dtype)
    _no_more(lw, "full_like", kwargs, node)
    return _fill(lw, [lw.b.dim(x, axis=k) for k in range(x.type.ndim)], v, dtype)


def _args_raw(lw, name, args, kwargs, node, names):
    args = list(args)
    for key in names[len(args):]:
        if key not in kwargs:
            raise SrcadTypeError(f"np.{name}() is missing its '{key}' argument", lw.loc(node))
        args.append(kwargs.pop(key))
    if len(args) != len(names):
        raise SrcadTypeError(f"np.{name}() takes {len(names)} positional arguments",
                             lw.loc(node))
    return args


def _no_more(lw, name, kwargs, node):
    if kwargs:
        raise UnsupportedCallError(f"np.{name}() got unsupported keyword arguments "
                                   f"{sorted(kwargs)}", lw.loc(node))


def _arange(lw, args, kwargs, node):
    kwargs = dict(kwargs)
    dtype = _dtype_arg(lw, kwargs, node, None)
    _no_more(lw, "arange", kwargs, node)
    if not 1 <= len(args) <= 3:
        raise SrcadTypeError("np.arange() takes 1 to 3 arguments", lw.loc(node))
    b = lw.b
    vals = [lw.as_value(a, node) for a in args]
    if any(v.type.ndim for v in vals):
        raise SrcadTypeError("np.arange() takes numbers", lw.loc(node))
    start, stop, step = ((b.const(0), vals[0], b.const(1)) if len(vals) == 1 else
                         (vals[0], vals[1], b.const(1)) if len(vals) == 2 else vals)
    kind = promote(start.type, stop.type, step.type).dtype
    if kind in ("i64", "bool"):
        start, stop, step = (b.convert(v, to="i64") for v in (start, stop, step))
        n = b.trip_count(start, stop, step)
        out = _affine(b, b.iota(n, dtype="i64"), start, step)
    else:
        start, stop, step = (b.convert(v, to="f64") for v in (start, stop, step))
        n = b.convert(b.ceil(b.div(b.sub(stop, start), step)), to="i64")
        n = b.maximum(n, b.const(0))
        out = _affine(b, b.iota(n, dtype="f64"), start, step)
    return out if dtype is None else b.convert(out, to=dtype)


def _affine(b, t, start, step):
    """start + t * step, skipping the trivial parts."""
    if not (step.is_const and step.const == 1):
        t = b.mul(t, step)
    if not (start.is_const and start.const == 0):
        t = b.add(t, start)
    return t


def _linspace(lw, args, kwargs, node):
    kwargs = dict(kwargs)
    dtype = _dtype_arg(lw, kwargs, node, "f64")
    endpoint = kwargs.pop("endpoint", None)
    args = list(args)
    if len(args) < 3 and "num" in kwargs:
        args.append(kwargs.pop("num"))
    _no_more(lw, "linspace", kwargs, node)
    if len(args) == 2:
        args.append(lw.b.const(50))
    if len(args) != 3:
        raise SrcadTypeError("np.linspace(start, stop, num) takes 2 or 3 arguments",
                             lw.loc(node))
    b = lw.b
    start, stop = (b.convert(lw.as_value(a, node), to="f64") for a in args[:2])
    if start.type.ndim or stop.type.ndim:
        raise UnsupportedCallError("np.linspace of arrays is not supported", lw.loc(node))
    n = lw.int_value(args[2], node)
    if endpoint is not None and not (isinstance(endpoint, Value) and endpoint.is_const):
        raise UnsupportedSyntaxError("endpoint must be True or False", lw.loc(node))
    div = n if endpoint is not None and not endpoint.const else b.sub(n, b.const(1))
    step = b.div(b.sub(stop, start), b.convert(b.maximum(div, b.const(1)), to="f64"))
    out = b.add(b.mul(b.iota(n, dtype="f64"), step), start)
    return b.convert(out, to=dtype)


def _array(copy: bool):
    def handler(lw, args, kwargs, node):
        kwargs = dict(kwargs)
        dtype = _dtype_arg(lw, kwargs, node, None)
        _no_more(lw, "array", kwargs, node)
        if len(args) != 1:
            raise SrcadTypeError("np.array() takes one argument", lw.loc(node))
        out = _build_array(lw, args[0], node)
        if copy and isinstance(args[0], Value) and out.type.ndim:
            out = lw.b.copy(out)
        if dtype is not None:
            out = lw.b.ne(out, lw.b.const(0, Type(out.type.dtype))) if dtype == "bool" else \
                lw.b.convert(out, to=dtype)
        return out
    return handler


def _build_array(lw, obj, node) -> Value:
    from .lower import TupleV
    b = lw.b
    if not isinstance(obj, TupleV):
        return lw.as_value(obj, node)
    if not obj.items:
        raise UnsupportedCallError("np.array of an empty list is not supported", lw.loc(node))
    items = [_build_array(lw, it, node) for it in obj.items]
    nd = {v.type.ndim for v in items}
    if len(nd) != 1:
        raise SrcadTypeError("np.array of a ragged nested sequence", lw.loc(node))
    if nd == {0}:
        return b.pack(*items)
    if nd.pop() > 2:
        raise UnsupportedCallError("np.array builds arrays of up to 3 dimensions",
                                   lw.loc(node))
    rows = [b.expand_dims(v, axis=0) for v in items]
    return rows[0] if len(rows) == 1 else b.concatenate(*rows, axis=0)


# ----------------------------------------------------------------------------- indexing

@dataclass(frozen=True)
class Masked:
    """``x[mask]`` before a reduction consumes it (never built: its shape depends on data).
    A mask of x's rank selects elements; a 1-D mask on a 2-D array selects rows."""
    x: Value
    mask: Value

    def __getattr__(self, name):
        if name in _MASK_METHODS:
            return Method(self, name)
        raise AttributeError(name)


_MASK_METHODS = ("sum", "mean", "max", "min")


def array_index(lw, x, idx, node):
    """``x[idx]`` where idx is an integer or boolean array."""
    if idx.type.dtype == "bool":
        if not (idx.type.ndim == x.type.ndim or (idx.type.ndim == 1 and x.type.ndim == 2)):
            raise UnsupportedSyntaxError(
                f"a {idx.type.ndim}-d boolean mask on a {x.type.ndim}-d array is not "
                "supported", lw.loc(node), "use a mask of the array's shape, or a 1-D mask "
                "of rows")
        if not _feeds_reduction(lw, node):
            raise UnsupportedSyntaxError(
                "x[mask] with a boolean mask has a data-dependent shape: it is only supported "
                "as the argument of a reduction (np.sum, np.mean, np.max, np.min, or "
                "x[mask].sum() ...)", lw.loc(node),
                "reduce it where it is built, e.g. np.sum(x[m]), or use np.where(m, x, 0.0)")
        return Masked(x, idx)
    if idx.type.dtype != "i64":
        raise SrcadTypeError(f"arrays can only be indexed by int or bool arrays, not {idx.type}",
                             lw.loc(node))
    if idx.type.ndim != 1:
        raise UnsupportedSyntaxError("indexing with a multi-dimensional index array is not "
                                     "supported yet", lw.loc(node), "index with a 1-D array")
    return lw.b.gather(x, idx)


def _feeds_reduction(lw, node) -> bool:
    parent = _parent(lw.info.tree, node)
    if isinstance(parent, ast.Attribute):
        return parent.attr in _MASK_METHODS
    if isinstance(parent, ast.Call) and parent.args and parent.args[0] is node:
        return _static_callee(lw, parent.func) in _MASK_REDUCERS
    return False


def _parent(tree, node):
    for p in ast.walk(tree):
        for child in ast.iter_child_nodes(p):
            if child is node:
                return p
    return None


def _static_callee(lw, func):
    """The object ``np.sum`` / ``sum`` names, if func is a (dotted) name; else None."""
    f = func
    while isinstance(f, ast.Attribute):
        f = f.value
    if not isinstance(f, ast.Name):
        return None
    try:
        return lw.expr(func)
    except Exception:  # noqa: BLE001  (not a plain name after all: not a reduction)
        return None


_MASK_REDUCERS: dict = {np.sum: "sum", np.mean: "mean", np.max: "max", np.amax: "max",
                        np.min: "min", np.amin: "min"}


def _masked_reduce(lw, kind, mk: Masked, args, kwargs, node):
    b = lw.b
    x, m = mk.x, mk.mask
    rows = m.type.ndim < x.type.ndim
    kwargs = dict(kwargs)
    axis = kwargs.pop("axis", args[0] if args else None)
    keep = kwargs.pop("keepdims", None)
    if kwargs or len(args) > 1:
        raise UnsupportedCallError(f"{kind} of a masked array: only axis= and keepdims=",
                                   lw.loc(node))
    keep = isinstance(keep, Value) and keep.is_const and bool(keep.const)
    if axis is not None:
        if not (isinstance(axis, Value) and axis.is_const and axis.type.dtype == "i64"):
            raise UnsupportedSyntaxError("axis must be an int literal", lw.loc(node))
        k = axis.const
        if k not in (0, -1) or (rows and k == -1):
            raise UnsupportedSyntaxError(
                f"{kind} of x[mask] along axis {k}: only the axis that the mask selects "
                "along (axis=0) or axis=None", lw.loc(node))
        axis = 0 if rows else None
    if keep and axis is None:
        raise UnsupportedSyntaxError("keepdims=True of a masked array needs axis=0 on a row "
                                     "mask", lw.loc(node))
    cond = b.expand_dims(m, axis=1) if rows else m
    dt = Type(x.type.dtype)
    if kind in ("sum", "mean"):
        s = b.sum(b.select(cond, x, b.const(0, dt)), axis=axis, keepdims=keep)
        if kind == "sum":
            return s
        fdt = "f32" if x.type.dtype == "f32" else "f64"
        count = b.sum(b.select(m, b.const(1.0, Type(fdt)), b.const(0.0, Type(fdt))),
                      axis=None, keepdims=False)
        if rows and axis is None:
            count = b.mul(count, b.convert(b.dim(x, axis=1), to=fdt))
        return b.div(s, count)
    fill = (np.inf if kind == "min" else -np.inf) if dt.is_float else \
        (np.iinfo(np.int64).max if kind == "min" else np.iinfo(np.int64).min)
    prim = "amax" if kind == "max" else "amin"
    return b.emit(prim, b.select(cond, x, b.const(fill, dt)), axis=axis, keepdims=keep)


def _mask_aware(kind, original):
    def handler(lw, args, kwargs, node):
        if args and isinstance(args[0], Masked):
            return _masked_reduce(lw, kind, args[0], list(args[1:]), kwargs, node)
        return original(lw, args, kwargs, node)
    return handler


# ----------------------------------------------------------------------------- linear algebra

def _matmul(original):
    def handler(lw, args, kwargs, node):
        a, c = _args(lw, "matmul", args, kwargs, node, 2)
        if max(a.type.ndim, c.type.ndim) <= 2:
            return original(lw, [a, c], {}, node)
        if a.type.ndim > 3 or c.type.ndim > 3 or min(a.type.ndim, c.type.ndim) < 2:
            raise UnsupportedSyntaxError(
                f"matmul of a {a.type.ndim}-d and a {c.type.ndim}-d array is not supported",
                lw.loc(node), "batched matmul takes (b, n, k) @ (b, k, m) or (k, m)")
        return lw.b.matmul3(a, c)
    return handler


def _inner(original):
    def handler(lw, args, kwargs, node):
        a, c = _args(lw, "inner", args, kwargs, node, 2)
        if a.type.ndim > 2 or c.type.ndim > 2:
            raise UnsupportedSyntaxError("np.inner of arrays with more than 2 dimensions is "
                                         "not supported", lw.loc(node))
        if c.type.ndim == 2:  # sums over the last axes: a @ c.T
            return lw.b.dot(a, lw.b.transpose(c))
        return original(lw, [a, c], {}, node)
    return handler


def _norm(lw, args, kwargs, node):
    kwargs = dict(kwargs)
    names = ("x", "ord", "axis", "keepdims")
    args = list(args)
    for key in names[len(args):]:
        args.append(kwargs.pop(key, None))
    _no_more(lw, "linalg.norm", kwargs, node)
    if len(args) > 4:
        raise SrcadTypeError("np.linalg.norm() takes at most 4 arguments", lw.loc(node))
    x, order, axis, keep = args
    x = lw.as_value(x, node)
    b = lw.b
    if x.type.ndim == 0:
        return b.abs(x)
    keep = isinstance(keep, Value) and keep.is_const and bool(keep.const)
    axes = _axis(lw, x, axis, node)
    vector = x.type.ndim == 1 or (axes is not None and len(axes) == 1)
    if order is not None and not (isinstance(order, Value) and order.is_const):
        raise UnsupportedSyntaxError("ord must be a number literal", lw.loc(node))
    o = None if order is None else order.const
    if keep and axes is None:
        axes = tuple(range(x.type.ndim - 1, -1, -1))
    if o is None or (vector and o == 2):
        if not x.type.is_float:
            x = b.convert(x, to="f64")
        return b.sqrt(_apply(lw, "sum", b.mul(x, x), axes, keep, node))
    if vector and o == 1:
        return _apply(lw, "sum", b.abs(x), axes, keep, node)
    if vector and o == np.inf:
        return _apply(lw, "amax", b.abs(x), axes, keep, node)
    raise UnsupportedCallError(
        f"np.linalg.norm with ord={o!r} of a {'vector' if vector else 'matrix'} is not "
        "supported", lw.loc(node), "srcad has the 2-norm (Frobenius for matrices) and the "
        "vector 1- and inf-norms")


# ----------------------------------------------------------------------------- registration

CALLS.update({
    np.prod: _prod, np.empty: CALLS[np.zeros], np.empty_like: CALLS[np.zeros_like],
    np.full: _full, np.full_like: _full_like, np.arange: _arange, np.linspace: _linspace,
    np.array: _array(copy=True), np.asarray: _array(copy=False),
    np.matmul: _matmul(CALLS[np.matmul]), np.inner: _inner(CALLS[np.inner]),
    np.linalg.norm: _norm,
})
for _fn, _kind in _MASK_REDUCERS.items():
    CALLS[_fn] = _mask_aware(_kind, CALLS[_fn])
for _kind in _MASK_METHODS:
    _METHODS[_kind] = _mask_aware(_kind, _METHODS[_kind])
_METHODS.update({"prod": _prod, "astype": _astype})
