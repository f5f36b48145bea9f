"""Calls to library functions: which Python callables lower to which primitives.

Keys are the function objects themselves, so ``np.sin``, ``math.sin`` and ``from math import
sin`` all resolve the same way.  A handler gets (lowerer, args, kwargs, node).
"""
from __future__ import annotations

import ast
import builtins
import math
import types

import numpy as np

from ..errors import SrcadTypeError, UnsupportedCallError

CALLS: dict[object, object] = {}

# Library calls that may return their argument itself or a view of it (NumPy does not copy);
# every other array a library call returns is a new array (``Lowerer.fresh``).
VIEW_CALLS = {np.asarray, np.atleast_1d, np.atleast_2d, np.reshape, np.ravel, np.expand_dims,
              np.squeeze, np.flip, np.flipud, np.transpose}
VIEW_METHODS = {"reshape", "ravel", "transpose", "squeeze"}


def checkpoint(r, every: int | None = None):
    """Mark a loop for checkpointed reverse mode: ``for i in srcad.checkpoint(range(n)):``.

    The adjoint sweep then stores only every k-th loop state (k = ``every``, default about
    sqrt(n)) and recomputes the segments in between, so tape memory grows like sqrt(n) instead
    of n.  In plain Python it returns ``r`` unchanged.
    """
    return r


def stop_gradient(x):
    """The identity, but derivatives do not flow through it (like ``jax.lax.stop_gradient``)."""
    return x


def written_callee(node, callee) -> str:
    """The callee as the source writes it (``np.random.normal``)."""
    if isinstance(node, ast.Call):
        return ast.unparse(node.func)
    return getattr(callee, "__qualname__", None) or repr(callee)


def no_rule(lw, callee, node) -> UnsupportedCallError:
    """The located error for a call srcad cannot lower: no primitive, not a plain function."""
    written = written_callee(node, callee)
    module = getattr(callee, "__module__", None) or ""
    owner = getattr(callee, "__self__", None)
    if module.startswith("numpy.random") or isinstance(owner, (np.random.RandomState,
                                                               np.random.Generator)):
        what, hint = "a random number generator", (
            "pass random numbers in as an argument: draw them before the call "
            "(e.g. eps = rng.normal(size=n); f(x, eps)), so the function is deterministic")
    elif isinstance(callee, types.MethodType) or (
            owner is not None and not isinstance(owner, types.ModuleType)):
        what, hint = f"a method of {type(owner).__name__}", (
            "srcad compiles plain functions and the np/math functions it knows, not methods of "
            "objects: compute the value outside and pass it in, write it with np/math "
            "functions in a plain helper, or add a primitive (srcad/primitives)")
    else:
        what, hint = (f"{module}.{getattr(callee, '__qualname__', '')}".strip(".") or
                      type(callee).__name__), (
            "use np/math functions srcad knows, plain Python helpers (they are inlined), or "
            "add a primitive for it (srcad/primitives)")
    return UnsupportedCallError(f"srcad has no rule for the call to {written} ({what})",
                                lw.loc(node), hint)


def _args(lw, name, args, kwargs, node, n: int | tuple[int, int], names=()):
    lo, hi = (n, n) if isinstance(n, int) else n
    args = list(args)
    for i, key in enumerate(names):
        if key in kwargs:
            while len(args) < i:
                raise UnsupportedCallError(f"{name}: pass {names[len(args)]} positionally",
                                           lw.loc(node))
            args.append(kwargs.pop(key))
    if kwargs:
        raise UnsupportedCallError(f"{name}() got unsupported keyword arguments "
                                   f"{sorted(kwargs)}", lw.loc(node))
    if not lo <= len(args) <= hi:
        raise SrcadTypeError(f"{name}() takes {lo if lo == hi else f'{lo} to {hi}'} arguments, "
                             f"got {len(args)}", lw.loc(node))
    return [lw.as_value(a, node) for a in args]


def _prim(prim: str, nin: int, names=()):
    def handler(lw, args, kwargs, node):
        return lw.b.emit(prim, *_args(lw, prim, args, kwargs, node, nin, names))
    return handler


def _alias(prim, nin, *fns, names=()):
    h = _prim(prim, nin, names)
    for fn in fns:
        if fn is not None:
            CALLS[fn] = h


_opt = getattr  # math.exp2 / math.cbrt exist from Python 3.11

for _prim_name, _fns in {
    "sin": (np.sin, math.sin), "cos": (np.cos, math.cos), "tan": (np.tan, math.tan),
    "arcsin": (np.arcsin, math.asin), "arccos": (np.arccos, math.acos),
    "arctan": (np.arctan, math.atan), "sinh": (np.sinh, math.sinh),
    "cosh": (np.cosh, math.cosh), "tanh": (np.tanh, math.tanh),
    "arcsinh": (np.arcsinh, math.asinh), "arccosh": (np.arccosh, math.acosh),
    "arctanh": (np.arctanh, math.atanh), "exp": (np.exp, math.exp),
    "exp2": (np.exp2, _opt(math, "exp2", None)), "expm1": (np.expm1, math.expm1),
    "log2": (np.log2, math.log2), "log10": (np.log10, math.log10),
    "log1p": (np.log1p, math.log1p), "sqrt": (np.sqrt, math.sqrt),
    "cbrt": (np.cbrt, _opt(math, "cbrt", None)), "erf": (math.erf,), "erfc": (math.erfc,),
    "abs": (np.abs, builtins.abs), "sign": (np.sign,), "floor": (np.floor,),
    "ceil": (np.ceil,), "neg": (np.negative,),
}.items():
    _alias(_prim_name, 1, *_fns, names=("x",))

for _prim_name, _fns in {
    "arctan2": (np.arctan2, math.atan2), "hypot": (np.hypot, math.hypot),
    "pow": (np.power, math.pow, builtins.pow), "maximum": (np.maximum, np.fmax),
    "minimum": (np.minimum, np.fmin), "add": (np.add,), "sub": (np.subtract,),
    "mul": (np.multiply,), "div": (np.divide,), "mod": (np.mod, np.remainder),
    "floordiv": (np.floor_divide,),
}.items():
    _alias(_prim_name, 2, *_fns)


def _np_fabs(lw, args, kwargs, node):
    (x,) = _args(lw, "fabs", args, kwargs, node, 1, ("x",))
    return lw.b.abs(lw.b.convert(x, to="f64") if not x.type.is_float else x)


def _fabs(lw, args, kwargs, node):
    (x,) = _args(lw, "fabs", args, kwargs, node, 1)
    return lw.b.abs(lw.b.convert(x, to="f64"))


def _math_log(lw, args, kwargs, node):
    xs = _args(lw, "log", args, kwargs, node, (1, 2))
    out = lw.b.log(xs[0])
    return out if len(xs) == 1 else lw.b.div(out, lw.b.log(xs[1]))


def _pyfloor(prim):
    def handler(lw, args, kwargs, node):
        (x,) = _args(lw, prim, args, kwargs, node, 1)
        if not x.type.is_float:
            return x
        return lw.b.convert(lw.b.emit(prim, x), to="i64")
    return handler


def _minmax(prim, name):
    def handler(lw, args, kwargs, node):
        if len(args) == 1:
            raise UnsupportedCallError(f"{name}() of one iterable is not supported",
                                       lw.loc(node), f"pass the numbers: {name}(a, b, ...)")
        xs = _args(lw, name, args, kwargs, node, (2, 64))
        acc = xs[0]
        for x in xs[1:]:
            acc = lw.b.emit(prim, acc, x)
        return acc
    return handler


def _clip(lw, args, kwargs, node):
    x, lo, hi = _args(lw, "clip", args, kwargs, node, 3, names=("a", "a_min", "a_max"))
    return lw.b.minimum(lw.b.maximum(x, lo), hi)


def _where(lw, args, kwargs, node):
    c, a, b = _args(lw, "where", args, kwargs, node, 3)
    if getattr(getattr(c, "type", None), "ndim", 0):  # elementwise: the condition becomes bool
        return lw.b.select(c, a, b)
    return lw.b.select(lw.truth(c, node), a, b)


def _convert(dtype):
    def handler(lw, args, kwargs, node):
        (x,) = _args(lw, dtype, args, kwargs, node, 1)
        if dtype == "bool":
            return lw.truth(x, node)
        return lw.b.convert(x, to=dtype)
    return handler


def _square(lw, args, kwargs, node):
    (x,) = _args(lw, "square", args, kwargs, node, 1)
    return lw.b.mul(x, x)


def _reciprocal(lw, args, kwargs, node):
    (x,) = _args(lw, "reciprocal", args, kwargs, node, 1)
    return lw.b.div(lw.b.const(1.0), x)


def _range_outside_for(lw, args, kwargs, node):
    raise UnsupportedCallError("range() is only supported as the iterable of a for loop",
                               lw.loc(node))


def _checkpoint_outside_for(lw, args, kwargs, node):
    raise UnsupportedCallError("srcad.checkpoint(...) marks a for loop: use "
                               "`for i in srcad.checkpoint(range(n)):`", lw.loc(node))


def _stop_gradient(lw, args, kwargs, node):
    (x,) = _args(lw, "stop_gradient", args, kwargs, node, 1)
    out = lw.b.stop_gradient(x)
    return lw.view(out, x) if x.type.ndim else out  # in Python it returns x itself


CALLS.update({
    math.fabs: _fabs, np.fabs: _np_fabs, math.log: _math_log, np.log: _prim("log", 1, ("x",)),
    math.floor: _pyfloor("floor"), math.ceil: _pyfloor("ceil"),
    builtins.max: _minmax("maximum", "max"), builtins.min: _minmax("minimum", "min"),
    np.clip: _clip, np.where: _where,
    builtins.float: _convert("f64"), np.float64: _convert("f64"), np.float32: _convert("f32"),
    builtins.int: _convert("i64"), np.int64: _convert("i64"), builtins.bool: _convert("bool"),
    np.square: _square, np.reciprocal: _reciprocal, builtins.range: _range_outside_for,
    checkpoint: _checkpoint_outside_for, stop_gradient: _stop_gradient,
})
VIEW_CALLS.add(stop_gradient)
