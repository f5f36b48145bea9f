"""Elementwise primitives: arithmetic, math functions, comparisons, logic, select, convert.

Each block is the whole story of one primitive.  Partial derivatives are written once, with
primitives, and both modes derive from them.  ``cost > 1`` marks transcendental functions,
whose results reverse mode tapes instead of recomputing.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir.core import Value
from ..ir.types import Type, promote
from .registry import REGISTRY, TYPE_RULES, Primitive, fit, nondiff, register, smooth, widen

LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _is(v: Value, c) -> bool:
    return v.is_const and v.const == c


def _c(b, v: Value, c: float) -> Value:
    """A constant of v's dtype (so f32 code stays f32)."""
    return b.const(c, Type(v.type.dtype if v.type.is_float else "f64"))


def _ufunc(fn):
    """Lift a math.* scalar function to arrays for the interpreter."""
    vec = np.vectorize(fn, otypes=[np.float64])

    def impl(x):
        return vec(x) if np.ndim(x) else np.float64(fn(float(x)))
    return impl


# ----------------------------------------------------------------------------- arithmetic

smooth("add", np.add, [lambda b, x, y, o: _c(b, o, 1.0), lambda b, x, y, o: _c(b, o, 1.0)],
       "{0} + {1}", coerce="same", domain=[(-3, 3), (-3, 3)],
       fold=lambda b, xs, p: xs[1] if _is(xs[0], 0) else xs[0] if _is(xs[1], 0) else None)

smooth("sub", np.subtract, [lambda b, x, y, o: _c(b, o, 1.0), lambda b, x, y, o: _c(b, o, -1.0)],
       "{0} - {1}", coerce="same", domain=[(-3, 3), (-3, 3)],
       fold=lambda b, xs, p: xs[0] if _is(xs[1], 0) else b.neg(xs[1]) if _is(xs[0], 0) else None)


def _fold_mul(b, xs, p):
    x, y = xs
    if _is(x, 1):
        return y
    if _is(y, 1):
        return x
    if _is(x, -1):
        return b.neg(y)
    if _is(y, -1):
        return b.neg(x)
    return None


smooth("mul", np.multiply, [lambda b, x, y, o: y, lambda b, x, y, o: x],
       "{0} * {1}", coerce="same", domain=[(-3, 3), (-3, 3)], fold=_fold_mul)

smooth("div", np.true_divide,
       [lambda b, x, y, o: b.div(_c(b, o, 1.0), y), lambda b, x, y, o: b.neg(b.div(o, y))],
       "{0} / {1}", coerce="float", domain=[(-3, 3), (0.5, 3)],
       fold=lambda b, xs, p: xs[0] if _is(xs[1], 1) else None)

smooth("neg", np.negative, [lambda b, x, o: _c(b, o, -1.0)], "-{0}", coerce="same",
       domain=[(-3, 3)])


def _pow_dx(b, x, y, o):
    # d/dx x**y = y * x**(y-1); an integer exponent stays integer (x**1 for y == 2).  For
    # y == 0 (int or float) the derivative is 0 everywhere, x == 0 included, where
    # 0 * 0.0**-1 raises (ZeroDivisionError) or is nan: there the base becomes 1.  Only the
    # point x == y == 0 changes (x**y is not continuous in y there), so d/dy of this partial
    # stays right at y == 0, x != 0.  Other exponents keep the true value at x == 0: 1 for
    # y == 1, inf for y == 0.5.
    one = _c(b, y, 1.0) if y.type.is_float else b.const(1, y.type)
    if y.is_const:
        return _c(b, o, 0.0) if y.const == 0 else b.mul(y, b.pow(x, b.sub(y, one)))
    zero = _c(b, y, 0.0) if y.type.is_float else b.const(0, y.type)
    at_zero = b.and_(b.eq(y, zero), b.eq(x, _c(b, x, 0.0)))
    return b.mul(y, b.pow(b.select(at_zero, _c(b, x, 1.0), x), b.sub(y, one)))


def _pow_dy(b, x, y, o):
    # d/dy x**y = x**y * log(x).  At x == 0 the one-sided limit is 0 (for y > 0), not 0*-inf.
    return b.select(b.eq(x, _c(b, x, 0.0)), _c(b, o, 0.0), b.mul(o, b.log(x)))


def _pow_type(types, params):
    return [promote(*types)]


_pow = smooth("pow", np.power, [_pow_dx, _pow_dy], "{0} ** {1}", cost=2, coerce="same",
              domain=[(0.2, 3), (-2, 2)],
              fold=lambda b, xs, p: xs[0] if _is(xs[1], 1) else None)
# x ** n keeps an integer exponent integer (Numba then multiplies instead of calling pow);
# only the base is promoted to float when the exponent is a float.
_pow.coerce = "pow"
_pow.type_rule = _pow_type

nondiff("floordiv", 2, np.floor_divide, "{0} // {1}",
        doc="x // y: piecewise constant, derivative zero where it exists")

smooth("mod", np.mod,
       [lambda b, x, y, o: _c(b, o, 1.0), lambda b, x, y, o: b.neg(b.floordiv(x, y))],
       "{0} % {1}", coerce="same", domain=[(0.1, 0.9), (1.1, 2.0)],
       doc="Python's x % y (sign of y); d/dx = 1, d/dy = -floor(x / y)")

# ----------------------------------------------------------------------------- math functions

smooth("sin", np.sin, [lambda b, x, o: b.cos(x)], "math.sin({0})", cost=2, domain=[(-3, 3)])
smooth("cos", np.cos, [lambda b, x, o: b.neg(b.sin(x))], "math.cos({0})", cost=2,
       domain=[(-3, 3)])
smooth("tan", np.tan, [lambda b, x, o: b.add(_c(b, o, 1.0), b.mul(o, o))], "math.tan({0})",
       cost=2, domain=[(-1.2, 1.2)])
smooth("arcsin", np.arcsin,
       [lambda b, x, o: b.div(_c(b, o, 1.0), b.sqrt(b.sub(_c(b, x, 1.0), b.mul(x, x))))],
       "math.asin({0})", cost=2, domain=[(-0.9, 0.9)])
smooth("arccos", np.arccos,
       [lambda b, x, o: b.div(_c(b, o, -1.0), b.sqrt(b.sub(_c(b, x, 1.0), b.mul(x, x))))],
       "math.acos({0})", cost=2, domain=[(-0.9, 0.9)])
smooth("arctan", np.arctan,
       [lambda b, x, o: b.div(_c(b, o, 1.0), b.add(_c(b, x, 1.0), b.mul(x, x)))],
       "math.atan({0})", cost=2, domain=[(-3, 3)])
smooth("arctan2", np.arctan2,
       [lambda b, y, x, o: b.div(x, b.add(b.mul(x, x), b.mul(y, y))),
        lambda b, y, x, o: b.div(b.neg(y), b.add(b.mul(x, x), b.mul(y, y)))],
       "math.atan2({0}, {1})", cost=2, domain=[(-2, 2), (0.5, 2)])
smooth("sinh", np.sinh, [lambda b, x, o: b.cosh(x)], "math.sinh({0})", cost=2, domain=[(-2, 2)])
smooth("cosh", np.cosh, [lambda b, x, o: b.sinh(x)], "math.cosh({0})", cost=2, domain=[(-2, 2)])
smooth("tanh", np.tanh, [lambda b, x, o: b.sub(_c(b, o, 1.0), b.mul(o, o))], "math.tanh({0})",
       cost=2, domain=[(-2, 2)])
smooth("arcsinh", np.arcsinh,
       [lambda b, x, o: b.div(_c(b, o, 1.0), b.sqrt(b.add(b.mul(x, x), _c(b, x, 1.0))))],
       "math.asinh({0})", cost=2, domain=[(-3, 3)])
smooth("arccosh", np.arccosh,
       [lambda b, x, o: b.div(_c(b, o, 1.0), b.sqrt(b.sub(b.mul(x, x), _c(b, x, 1.0))))],
       "math.acosh({0})", cost=2, domain=[(1.1, 4)])
smooth("arctanh", np.arctanh,
       [lambda b, x, o: b.div(_c(b, o, 1.0), b.sub(_c(b, x, 1.0), b.mul(x, x)))],
       "math.atanh({0})", cost=2, domain=[(-0.9, 0.9)])
smooth("exp", np.exp, [lambda b, x, o: o], "math.exp({0})", cost=2, domain=[(-2, 2)])
smooth("exp2", np.exp2, [lambda b, x, o: b.mul(o, _c(b, o, LN2))], "np.exp2({0})", cost=2,
       domain=[(-2, 2)])
smooth("expm1", np.expm1, [lambda b, x, o: b.add(o, _c(b, o, 1.0))], "math.expm1({0})", cost=2,
       domain=[(-2, 2)])
smooth("log", np.log, [lambda b, x, o: b.div(_c(b, o, 1.0), x)], "math.log({0})", cost=2,
       domain=[(0.1, 4)])
smooth("log2", np.log2, [lambda b, x, o: b.div(_c(b, o, 1.0 / LN2), x)], "math.log2({0})",
       cost=2, domain=[(0.1, 4)])
smooth("log10", np.log10, [lambda b, x, o: b.div(_c(b, o, 1.0 / LN10), x)], "math.log10({0})",
       cost=2, domain=[(0.1, 4)])
smooth("log1p", np.log1p,
       [lambda b, x, o: b.div(_c(b, o, 1.0), b.add(_c(b, x, 1.0), x))], "math.log1p({0})",
       cost=2, domain=[(-0.9, 3)])
# d sqrt(x) = 1 / (2 sqrt(x)): +inf at x == 0 (the true one-sided value), never nan.
smooth("sqrt", np.sqrt, [lambda b, x, o: b.div(_c(b, o, 0.5), o)], "math.sqrt({0})", cost=2,
       domain=[(0.1, 4)])
smooth("cbrt", np.cbrt, [lambda b, x, o: b.div(_c(b, o, 1.0 / 3.0), b.mul(o, o))],
       "np.cbrt({0})", cost=2, domain=[[(0.1, 4), (-4, -0.1)]])
smooth("erf", _ufunc(math.erf),
       [lambda b, x, o: b.mul(_c(b, o, TWO_OVER_SQRT_PI), b.exp(b.neg(b.mul(x, x))))],
       "math.erf({0})", cost=2, domain=[(-2, 2)])
smooth("erfc", _ufunc(math.erfc),
       [lambda b, x, o: b.mul(_c(b, o, -TWO_OVER_SQRT_PI), b.exp(b.neg(b.mul(x, x))))],
       "math.erfc({0})", cost=2, domain=[(-2, 2)])
smooth("hypot", np.hypot, [lambda b, x, y, o: b.div(x, o), lambda b, x, y, o: b.div(y, o)],
       "math.hypot({0}, {1})", cost=2, domain=[(0.5, 2), (-2, -0.5)])
# |x|' = sign(x): the subgradient 0 is used at x == 0.
smooth("abs", np.abs, [lambda b, x, o: b.sign(x)], "abs({0})", coerce="same",
       domain=[[(0.2, 3), (-3, -0.2)]])

# ----------------------------------------------------------------------------- piecewise


def _tie_rules(larger):
    """maximum/minimum: the derivative of the argument chosen, and at a tie half to each
    (JAX's rule).  Any other tie rule breaks identities at the kink: with the whole derivative
    to the first argument, max(x, c) + min(x, c) == x + c has d/dx 2 at x == c; split evenly
    (and |x|' = sign(x), 0 at 0) such sums, clip and the stable softplus keep their exact
    derivative there.  ``larger(b, x, y)``: x is chosen (away from a tie)."""

    def split(b, xs, zero):
        return b.eq(*xs), larger(b, *xs), _c(b, zero, 0.5)

    def jvp(b, xs, outs, ts, params):
        tx, ty = ts
        if tx is None and ty is None:
            return [None]
        z = _c(b, outs[0], 0.0)
        tx, ty = tx if tx is not None else z, ty if ty is not None else z
        tie, c, half = split(b, xs, outs[0])
        return [widen(b, b.select(tie, b.mul(half, b.add(tx, ty)), b.select(c, tx, ty)),
                      outs[0], xs)]

    def vjp(b, xs, outs, cts, params, active):
        ct = cts[0]
        if ct is None:
            return [None, None]
        tie, c, half = split(b, xs, ct)
        z, shared = _c(b, ct, 0.0), b.mul(half, ct)
        return [fit(b, b.select(tie, shared, b.select(c, ct, z)), xs[0]) if active[0] else None,
                fit(b, b.select(tie, shared, b.select(c, z, ct)), xs[1]) if active[1] else None]
    return jvp, vjp


_jvp, _vjp = _tie_rules(lambda b, x, y: b.gt(x, y))
register(Primitive("maximum", 2, np.maximum, TYPE_RULES["same"], "same", _jvp, _vjp,
                   "max({0}, {1})", domain=[(-1, 0), (0.5, 1)], pointwise=True))
_jvp, _vjp = _tie_rules(lambda b, x, y: b.lt(x, y))
register(Primitive("minimum", 2, np.minimum, TYPE_RULES["same"], "same", _jvp, _vjp,
                   "min({0}, {1})", domain=[(-1, 0), (0.5, 1)], pointwise=True))


def _select_type(types, params):
    # the dtype of the sides, the rank of all three: np.where(x > 0, 1.0, c) is an array
    return [Type(promote(*types[1:]).dtype, max(t.ndim for t in types))]


def _select_jvp(b, xs, outs, ts, params):
    _, ta, tb = ts
    if ta is None and tb is None:
        return [None]
    z = _c(b, outs[0], 0.0)
    return [widen(b, b.select(xs[0], ta if ta is not None else z, tb if tb is not None else z),
                  outs[0], xs)]


def _select_vjp(b, xs, outs, cts, params, active):
    ct = cts[0]
    if ct is None:
        return [None, None, None]
    z = _c(b, ct, 0.0)
    return [None, fit(b, b.select(xs[0], ct, z), xs[1]) if active[1] else None,
            fit(b, b.select(xs[0], z, ct), xs[2]) if active[2] else None]


register(Primitive("select", 3, lambda c, a, b: np.where(c, a, b), _select_type, "select",
                   _select_jvp, _select_vjp, "{1} if {0} else {2}",
                   domain=[(-1, 1), (-3, 3), (-3, 3)],
                   fold=lambda b, xs, p: (xs[1] if xs[0].const else xs[2]) if xs[0].is_const
                   else None, pointwise=True,
                   doc="np.where(c, a, b) on scalars; both sides are evaluated"))

nondiff("sign", 1, np.sign, "np.sign({0})")
nondiff("floor", 1, np.floor, "np.floor({0})", coerce="float", type_rule="float")
nondiff("ceil", 1, np.ceil, "np.ceil({0})", coerce="float", type_rule="float")

# ----------------------------------------------------------------------------- comparisons, logic

for _name, _fn, _sym in [("lt", np.less, "<"), ("le", np.less_equal, "<="),
                         ("gt", np.greater, ">"), ("ge", np.greater_equal, ">="),
                         ("eq", np.equal, "=="), ("ne", np.not_equal, "!=")]:
    nondiff(_name, 2, _fn, "{0} " + _sym + " {1}", type_rule="bool")

nondiff("and_", 2, np.logical_and, "{0} and {1}", coerce="bool", type_rule="bool")
nondiff("or_", 2, np.logical_or, "{0} or {1}", coerce="bool", type_rule="bool")
nondiff("not_", 1, np.logical_not, "not {0}", coerce="bool", type_rule="bool")

# ----------------------------------------------------------------------------- conversions

_CONVERT_CPU = {"f64": "float({0})", "f32": "np.float32({0})", "i64": "int({0})",
                "bool": "bool({0})"}


def _convert_impl(x, to):
    return Type(to).np_dtype(x) if np.ndim(x) == 0 else np.asarray(x).astype(Type(to).np_dtype)


def _convert_jvp(b, xs, outs, ts, params):
    t = ts[0]
    if t is None or not outs[0].type.is_float:
        return [None]
    return [b.convert(t, to=outs[0].type.dtype)]


def _convert_vjp(b, xs, outs, cts, params, active):
    ct = cts[0]
    if ct is None or not active[0] or not outs[0].type.is_float:
        return [None]
    return [b.convert(ct, to=xs[0].type.dtype)]


register(Primitive(
    "convert", 1, _convert_impl, lambda types, p: [Type(p["to"], types[0].ndim)], "none",
    _convert_jvp, _convert_vjp, lambda args, p: _CONVERT_CPU[p["to"]].format(*args),
    domain=[(-3, 3)], extra={"test_params": {"to": "f32"}}, pointwise=True,
    fold=lambda b, xs, p: xs[0] if xs[0].type.dtype == p["to"] else None,
    doc="dtype conversion; float -> int truncates (derivative zero), float -> float is linear"))


def _literal(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "math.nan"
        if math.isinf(value):
            return "math.inf" if value > 0 else "-math.inf"
    return repr(value)


register(Primitive(
    "const", 0, lambda value: value, lambda types, p: [Type("f64")], "none",
    jvp=lambda b, xs, outs, ts, params: [None], vjp=lambda b, xs, outs, cts, params, act: [],
    cpu=lambda args, p: _literal(p["value"]), differentiable=False,
    doc="a literal; printed inline by the printer and the code generator"))

# ----------------------------------------------------------------------------- loop support


def _trip_count(start, stop, step):
    return len(range(int(start), int(stop), int(step)))


nondiff("trip_count", 3, _trip_count, "_rt.trip_count({0}, {1}, {2})",
        doc="number of iterations of range(start, stop, step)")

literal = _literal

register(Primitive(
    "stop_gradient", 1, lambda x: x, TYPE_RULES["same"], "none",
    jvp=lambda b, xs, outs, ts, params: [None],
    vjp=lambda b, xs, outs, cts, params, active: [None], cpu="{0}", domain=[(-3, 3)],
    differentiable=False, doc="identity whose derivative is zero (jax.lax.stop_gradient)"))


# ----------------------------------------------------------------------------- array templates
# With an array operand, Numba code calls NumPy's ufuncs instead of math.* (one loop per op for
# now; fusing elementwise chains into one loop nest is future work).
_NP_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
             "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh"}
for _p in REGISTRY.values():
    if isinstance(_p.cpu, str) and _p.cpu.startswith("math."):
        _fn = _p.cpu[len("math."):_p.cpu.index("(")]
        _p.arr = "np." + _NP_NAMES.get(_fn, _fn) + _p.cpu[_p.cpu.index("("):]
REGISTRY["erf"].arr = "_uf.verf({0})"
REGISTRY["erfc"].arr = "_uf.verfc({0})"
REGISTRY["abs"].arr = "np.abs({0})"
REGISTRY["maximum"].arr = "np.maximum({0}, {1})"
REGISTRY["minimum"].arr = "np.minimum({0}, {1})"
REGISTRY["select"].arr = "np.where({0}, {1}, {2})"
REGISTRY["and_"].arr = "np.logical_and({0}, {1})"
REGISTRY["or_"].arr = "np.logical_or({0}, {1})"
REGISTRY["not_"].arr = "np.logical_not({0})"
REGISTRY["convert"].arr = lambda args, p: f"{args[0]}.astype({_NP_DTYPES[p['to']]})"
REGISTRY["stop_gradient"].arr = "{0}.copy()"
_NP_DTYPES = {"f64": "np.float64", "f32": "np.float32", "i64": "np.int64", "bool": "np.bool_"}
