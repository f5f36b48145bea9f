"""Accuracy of srcad.codegen.vmath against NumPy (max ulp over dense samples) and its special
values, each function called inside an njit loop (the way generated code uses it) and directly
from an njit wrapper."""
from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from srcad.codegen import vmath as vm

N = 100_000


def ulp_diff(got, ref):
    """|got - ref| in units in the last place (distance in the ordered float64 bit patterns);
    0 where both are NaN, inf where only one is."""
    got = np.asarray(got, np.float64)
    ref = np.asarray(ref, np.float64)

    def ordered(a):
        i = a.view(np.int64)
        return np.where(i < 0, np.int64(-(2**63)) - i, i)

    with np.errstate(over="ignore"):
        d = np.abs((ordered(got) - ordered(ref)).astype(np.float64))
    d[np.isnan(got) & np.isnan(ref)] = 0.0
    d[np.isnan(got) ^ np.isnan(ref)] = np.inf
    return d


def sigmoid_ref(x):
    """1 / (1 + exp(-x)) in long double (64-bit mantissa on x86), rounded to float64."""
    xl = np.asarray(x, np.float64).astype(np.longdouble)
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-xl))).astype(np.float64)


REF = {
    "exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": sigmoid_ref,
    "sin": np.sin, "cos": np.cos, "log1p": np.log1p, "expm1": np.expm1,
}
# max ulp vs REF on every sample below (what the docstrings document)
BOUND = {
    "exp": 1, "log": 1, "tanh": 3, "sigmoid": 2, "sin": 1, "cos": 1, "log1p": 1, "expm1": 1,
}

_LOOPS: dict = {}


def loop(name):
    """njit loop ``out[i] = vm.<name>(x[i])`` (compiled once per function)."""
    if name not in _LOOPS:
        f = vm.FUNCS[name]

        @numba.njit(error_model="numpy")
        def run(x, out):
            for i in range(x.size):
                out[i] = f(x[i])

        _LOOPS[name] = run
    return _LOOPS[name]


def apply(name, x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    loop(name)(x, out)
    return out


def _sym(a):
    return np.concatenate([a, -a])


def samples(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    u = rng.uniform
    wide = np.exp(u(-745, 709, N))  # log-uniform over the whole positive range
    tiny = u(-1e-8, 1e-8, N // 4)
    sub = u(-1e-308, 1e-308, N // 8)  # subnormal and near
    if name == "exp":
        return [u(-746, 710, N), u(-1, 1, N), tiny, u(-745.2, -700, N // 4), u(700, 709.8, N // 4)]
    if name == "expm1":
        return [u(-50, 710, N), u(-1, 1, N), tiny, sub, u(-0.8, 0.8, N)]
    if name == "log":
        return [wide, u(0, 2, N), u(0.9, 1.1, N), np.abs(sub), 1.0 + tiny]
    if name == "log1p":
        return [wide, u(-1, 1, N), tiny, sub, u(-1, -0.99, N // 4)]
    if name == "tanh":
        return [u(-25, 25, N), u(-1, 1, N), u(-0.1, 0.1, N), tiny, sub]
    if name == "sigmoid":
        return [u(-760, 760, N), u(-40, 40, N), u(-1, 1, N), tiny]
    # sin / cos
    k = np.arange(-5000, 5000, dtype=np.float64)
    return [u(-10, 10, N), u(-1e6, 1e6, N), _sym(wide), k * (np.pi / 2), k * np.pi,
            _sym(np.ldexp(1.0, np.arange(-1074, 1024)).astype(np.float64)), tiny]


@pytest.mark.parametrize("name", sorted(vm.FUNCS))
def test_max_ulp(name):
    worst = 0.0
    for x in samples(name):
        got = apply(name, x)
        with np.errstate(all="ignore"):
            ref = REF[name](x)
        d = ulp_diff(got, ref)
        i = int(np.argmax(d))
        assert d[i] <= BOUND[name], f"{name}({x[i]!r}) = {got[i]!r}, expected {ref[i]!r}"
        worst = max(worst, d[i])
    assert worst <= BOUND[name]


SPECIALS = np.array([
    0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -5e-324, 1e-310, -1e-310,
    2.2250738585072014e-308, 1e-300, 1e-17, -1e-17, 0.5, 1.0, -1.0, -1.0000000000000002,
    -0.9999999999999999, 2.0, 19.0, 20.0, 40.0, -40.0, 708.0, 709.782712893384,
    709.7827128933841, 710.0, -708.4, -745.1332191019411, -745.1332191019412, -745.2, -1000.0,
    1e15, 1e22, 1e300, -1e300, 1.7976931348623157e308, -1.7976931348623157e308,
    np.pi / 2, np.pi, 3 * np.pi / 2, 1e5 * np.pi,
])


@pytest.mark.parametrize("name", sorted(vm.FUNCS))
def test_special_values(name):
    got = apply(name, SPECIALS)
    with np.errstate(all="ignore"):
        ref = REF[name](SPECIALS)
    d = ulp_diff(got, ref)
    bad = [(x, g, r) for x, g, r, e in zip(SPECIALS, got, ref, d) if e > BOUND[name]]
    assert not bad
    # signs of zero results and exact special results
    zero = np.signbit(got[(got == 0) & (ref == 0)]) == np.signbit(ref[(got == 0) & (ref == 0)])
    assert zero.all()


def test_exact_specials():
    inf, nan = math.inf, math.nan
    e = lambda n, x: float(apply(n, np.array([x]))[0])  # noqa: E731
    assert e("exp", -inf) == 0.0 and e("exp", inf) == inf and e("exp", 709.79) == inf
    assert e("exp", -746.0) == 0.0 and e("exp", -745.0) == 5e-324
    assert e("exp", -740.0) == np.exp(-740.0)  # gradual underflow
    assert e("log", 0.0) == -inf and e("log", -0.0) == -inf and math.isnan(e("log", -1e-300))
    assert e("log", inf) == inf and e("log", 5e-324) == np.log(5e-324)
    assert e("log1p", -1.0) == -inf and math.isnan(e("log1p", -1.5)) and e("log1p", inf) == inf
    assert e("expm1", -inf) == -1.0 and e("expm1", inf) == inf and e("expm1", 710.0) == inf
    assert e("tanh", inf) == 1.0 and e("tanh", -inf) == -1.0 and e("tanh", 30.0) == 1.0
    assert e("sigmoid", inf) == 1.0 and e("sigmoid", -inf) == 0.0 and e("sigmoid", 0.0) == 0.5
    assert 0.0 < e("sigmoid", -740.0) < 1e-320 and e("sigmoid", 800.0) == 1.0
    for n in ("sin", "cos"):
        assert math.isnan(e(n, inf)) and math.isnan(e(n, -inf))
    assert e("cos", 0.0) == 1.0 and e("cos", -0.0) == 1.0
    for n in ("exp", "log", "tanh", "sigmoid", "sin", "cos", "log1p", "expm1"):
        assert math.isnan(e(n, nan)), n
    for n in ("tanh", "sin", "log1p", "expm1"):  # odd at 0: the sign of zero is kept
        assert math.copysign(1.0, e(n, -0.0)) == -1.0 and math.copysign(1.0, e(n, 0.0)) == 1.0
        assert e(n, 5e-324) == 5e-324 and e(n, -1e-310) == -1e-310


def test_hardest_reduction():
    """x = 6381956970095103 * 2**797 is the double closest to a multiple of pi/2 (Muller);
    cos(x) = -4.687165924254628e-19 (mpmath, 3000 bits). glibc (so NumPy) is 17 ulp off."""
    x = np.array([6381956970095103.0 * 2.0**797])
    assert apply("cos", x)[0] == -4.687165924254628e-19
    assert apply("sin", x)[0] == 1.0 and apply("sin", -x)[0] == -1.0


@numba.njit(error_model="numpy")
def _direct(x):
    return (vm.exp(x), vm.log(x), vm.tanh(x), vm.sigmoid(x), vm.sin(x), vm.cos(x),
            vm.log1p(x), vm.expm1(x))


@numba.njit  # default (python) error model: no zero-division checks leak in
def _direct_python_model(x):
    return vm.log(x) + vm.tanh(x) + vm.sigmoid(x) + vm.log1p(x)


def test_direct_calls_match_loop():
    names = ("exp", "log", "tanh", "sigmoid", "sin", "cos", "log1p", "expm1")
    for x in (0.3, 2.5, 1e-12, 123.456, 0.0, -0.0, 700.0, math.inf):
        got = _direct(x)
        for n, g in zip(names, got):
            ref = apply(n, np.array([x]))[0]
            assert g == ref or (math.isnan(g) and math.isnan(ref)), (n, x)
    assert math.isinf(_direct_python_model(0.0))  # log(0) = -inf, no ZeroDivisionError


def test_loop_is_vectorized():
    """The njit loop over each function compiles to packed SIMD code (no libm calls)."""
    for name in vm.FUNCS:
        asm = loop(name).inspect_asm(loop(name).signatures[0])
        assert any(op in asm for op in ("mulpd", "fmadd213pd", "fmadd231pd")), name
