"""Corpus of straight-line scalar functions: no loops and no ``if`` statements.

Conditional expressions are allowed. Each function exercises one corner of the core language
or one group of math functions, so a failure names what broke. Helpers whose names start with
an underscore are not registered; srcad inlines them into their callers.
"""

import math

import numpy as np

from tests.registry import Case, registrar

CASES: list[Case] = []
case = registrar(CASES)

SCALE = 2.5
OFFSET = -0.75
N_TERMS = 3
HALF = 1 / 2


def _poly(x, a=1.0, b=0.0):
    return a * x * x + b * x + 1.0


def _sum_diff(x, y):
    return x + y, x - y


def _outer(x, y):
    return _poly(x, b=y) * _poly(y)


def _scaled_power(x, n):
    return SCALE * x**n


def _norm_cdf(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


# --- arithmetic -----------------------------------------------------------------------------


@case(points=[(1.5, -2.0), (-0.3, 0.7), (12.0, 3.25)])
def arith_mixed(x, y):
    return x * y + x - y * 2.0 + 3


@case(points=[(1.5, -2.0), (-0.3, 0.7), (12.0, 3.25)])
def true_division(x, y):
    return x / y - y / (x * x + 1.0) + x / 4


@case(points=[(0.4,), (-1.7,), (9.0,)])
def unary_minus(x):
    y = -x
    return -y * -x + -(x - 1.0) + (-x) ** 2


@case(points=[(0.8,), (-1.3,), (4.2,)])
def int_literal_powers(x):
    return x**2 + x**3 - 2.0 * x**-1 + x**0


@case(points=[(0.3,), (1.0,), (7.5,)])
def fractional_powers(x):
    return x**0.5 + x**1.5 - x**-0.25


@case(points=[(1.2, 0.5), (0.4, -1.3), (3.0, 2.2)])
def float_power(x, y):
    return x**y + y**2.0


@case(points=[(0.5,), (-1.2,), (3.3,)])
def constant_base_power(x):
    return 2.0**x + math.e ** (0.5 * x) + 10 ** (-x)


@case(points=[(1.3, 3), (-0.7, 2), (2.1, -2), (0.9, 0), (-1.6, 5)])
def int_exponent(x, n):
    return x**n + 2.0 * x ** (n + 1)


@case(points=[(1.3, 3), (-0.7, 2), (2.1, -1)])
def builtin_pow(x, n):
    return pow(x, 3) + pow(x, n) - pow(2.0, x)


@case(points=[(1.3, 0.5), (0.25, -1.5), (4.0, 2.0)])
def math_pow(x, y):
    return math.pow(x, 2.5) + math.pow(x, y) + math.pow(y, 2.0)


@case(points=[(1.3, 0.5), (0.25, -1.5), (4.0, 2.0)])
def np_power(x, y):
    return np.power(x, y) + np.power(y, 3) + np.pow(x, 1.5)


@case(points=[(7.3, 2.1), (-4.6, 1.7), (0.45, 0.3)], kinks=True)
def floordiv_mod(x, y):
    return x // y + x % y + (x * 3.0) % 2.0 + x // 2


@case(points=[(-2.0,), (0.1,), (3.7,)])
def literal_forms(x):
    return 1e-3 * x + 2 * x + x / 2 + 0.5 + 1_000 * x * x - 2.5e2


@case(points=[(0.7, 1.3), (-1.1, 0.4), (2.5, -3.0)])
def deep_expression(x, y):
    return ((x + y) * (x - y) / (1.0 + (x * y) ** 2) - ((x - 1.0) * (y + 2.0) + 3.0) ** 2) / (
        2.0 + x * x
    )


@case(points=[(0.6,), (-1.4,), (2.2,)])
def fan_out(x):
    a = x * x
    b = a * x
    c = a * b
    return a + b + c + x * x * x * x


# --- int arguments as data -------------------------------------------------------------------


@case(points=[(1.5, 4), (-0.8, 7), (2.2, -3)])
def int_data(x, n):
    m = n * 2 + 1
    k = n // 2
    r = n % 3
    return x * m + k * x**2 - r + x * (n / 4)


@case(points=[(1.5, 4), (-0.8, 0), (2.2, -3)])
def float_of_int(x, n):
    return float(n) * x + float(n * n) + x / float(n + 10)


@case(points=[(1.5, 3), (1.5, 1), (-2.0, 5), (0.3, -4)])
def int_condition(x, n):
    return x * 2.0 if n > 2 else x * x - n


@case(points=[(0.9, 2), (-1.4, 3), (2.3, -1)])
def helper_with_int(x, n):
    return _scaled_power(x, n) + _scaled_power(x, 2) - _scaled_power(x, N_TERMS)


# --- assignment --------------------------------------------------------------------------


@case(points=[(0.5,), (-1.5,), (3.0,)])
def reassignment(x):
    y = x * 2.0
    y = y + x
    y = y * y
    x = y - x
    return x + y


@case(points=[(1.2, 0.8), (-0.5, 2.5), (3.0, -1.7)])
def augmented_assignment(x, y):
    z = x
    z += y
    z *= x
    z -= 1.0
    z /= y
    return z


@case(points=[(1.2, 0.8), (-0.5, 2.5), (3.0, -1.7)])
def augmented_argument(x, y):
    x += y
    y *= x
    x -= y
    y /= 3.0
    return x * y


@case(points=[(1.2, 0.8), (-0.5, 2.5), (3.0, -1.7)])
def tuple_unpacking(x, y):
    a, b = x + y, x - y
    return a * b


@case(points=[(1.2, 0.8), (-0.5, 2.5), (3.0, -3.7)])
def tuple_packing(x, y):
    t = (x * 2.0, y + 1.0)
    a, b = t
    return a / b


@case(points=[(1.2, 0.8), (-0.5, 2.5), (3.0, -1.7)])
def swap(x, y):
    x, y = y, x
    x, y = y * x, x - y
    return x + 2.0 * y


@case(points=[(1.2, 0.8), (-0.5, 2.5), (3.0, -1.7)])
def helper_tuple_result(x, y):
    s, d = _sum_diff(x, y)
    return s * d + s


# --- multiple return values ------------------------------------------------------------------


@case(points=[(1.2, 0.8), (-0.5, 2.5), (3.0, -1.7)])
def three_outputs(x, y):
    return x * y, x + y, x / y


@case(points=[(1.5, 0.3), (0.2, -2.0), (4.0, 2.9)])
def polar_to_cartesian(r, theta):
    return r * math.cos(theta), r * math.sin(theta)


@case(points=[(1.2, 0.8), (-0.5, 2.5)])
def returned_tuple_variable(x, y):
    t = (x * x, y * x)
    return t


@case(points=[(1.2, 0.8, -0.4), (-0.5, 2.5, 0.1), (3.0, -1.7, 2.2)])
def normalize3(x, y, z):
    n = math.sqrt(x * x + y * y + z * z)
    return x / n, y / n, z / n


@case(points=[(1.0, 0.4, 0.3), (2.5, 2.0, -1.2)])
def spherical_to_cartesian(r, theta, phi):
    s = r * np.sin(theta)
    return s * np.cos(phi), s * np.sin(phi), r * np.cos(theta)


# --- arguments, defaults, keywords, helpers ------------------------------------------------


@case(points=[(1.3,), (1.3, 0.4), (-0.6, 2.0, -1.5)])
def default_arguments(x, y=2.0, scale=0.5):
    return scale * x * y + y


@case(points=[(0.7, 1.1), (-1.2, 0.3), (2.0, -2.5)])
def keyword_call(x, y):
    return _poly(x, b=y) + _poly(y, a=3.0) + _poly(x, 2.0, b=-1.0)


@case(points=[(0.7, 1.1), (-1.2, 0.3), (2.0, -2.5)])
def nested_helpers(x, y):
    return _outer(x, y) - _outer(y, x)


@case(points=[(1.2, 0.8), (-0.5, 2.5)])
def unused_argument(x, y):
    return 3.0 * x


@case(points=[(1.2,), (-0.5,)])
def constant_output(x):
    return math.pi / 2.0


@case(points=[(0.5,), (-1.5,), (4.0,)])
def module_constants(x):
    return SCALE * x + OFFSET * x**2 + N_TERMS + HALF * x


@case(points=[(0.5, 1.5), (-1.5, -0.3)])
def pi_and_e(x, y):
    return math.pi * x + np.pi * y * y + np.e * x * y + math.e


# --- conditional expressions -----------------------------------------------------------------


@case(points=[(0.4,), (0.93,), (1.7,), (-0.9,)], kinks=True)
def chained_comparison(x):
    return x * 2.0 if 0.0 < x < 1.0 else x**2


@case(points=[(0.5, 1.2), (-1.5, 0.3), (2.0, 2.5), (1.1, -0.4)], kinks=True)
def boolean_operators(x, y):
    a = x + y if x > 0.0 and y > 0.0 else x - y
    b = x * y if x < -1.0 or y > 2.0 else x - 2.0 * y
    c = a if not x > y else b
    return a + b + c


@case(points=[(1.5,), (0.3,), (-0.4,), (-2.0,)], kinks=True)
def nested_conditional(x):
    return x if x > 1.0 else (x * x if x > -1.0 else -x)


# --- math functions ---------------------------------------------------------------------


@case(points=[(0.3, -1.1), (2.0, 0.5), (-2.9, 4.0)])
def np_trig(x, y):
    return np.sin(x) * np.cos(y) + np.tan(0.5 * x)


@case(points=[(0.3,), (2.0,), (-2.9,)])
def math_trig(x):
    return math.sin(x) + math.cos(2.0 * x) - math.tan(x / 3.0)


@case(points=[(-0.8,), (0.1,), (0.65,)])
def np_inverse_trig(x):
    return np.arcsin(x) + np.arccos(0.5 * x) + np.arctan(3.0 * x)


@case(points=[(-0.55,), (0.05,), (0.9,)])
def math_inverse_trig(x):
    return math.asin(x) + math.acos(-x) + math.atan(x * x)


@case(points=[(1.0, 0.5), (-2.0, 1.5), (0.3, -0.7), (-0.5, -2.0)], kinks=True)
def arctan2(x, y):
    return np.arctan2(y, x) + math.atan2(x, y + 3.0)


@case(points=[(0.2,), (-1.3,), (2.5,)])
def np_hyperbolic(x):
    return np.sinh(x) + np.cosh(0.5 * x) + np.tanh(2.0 * x)


@case(points=[(0.2,), (-1.3,), (2.5,)])
def math_hyperbolic(x):
    return math.sinh(x) * math.cosh(x) - math.tanh(x / 2.0)


@case(points=[(0.3, 1.5), (-1.7, 4.0), (1.1, 1.05)])
def np_inverse_hyperbolic(x, y):
    return np.arcsinh(x) + np.arccosh(y) + np.arctanh(0.5 * x)


@case(points=[(0.3, 1.5), (-1.7, 4.0), (1.1, 1.05)])
def math_inverse_hyperbolic(x, y):
    return math.asinh(2.0 * x) * math.acosh(y) + math.atanh(x / 2.0)


@case(points=[(0.3,), (-2.1,), (3.4,)])
def np_exponentials(x):
    return np.exp(x) + np.exp2(x) - np.expm1(-x)


@case(points=[(0.3,), (-2.1,), (3.4,)])
def math_exponentials(x):
    return math.exp(-x) * math.exp2(x) + math.expm1(x)


@case(points=[(0.05,), (1.3,), (25.0,)])
def np_logarithms(x):
    return np.log(x) + np.log2(x) + np.log10(x) * np.log1p(x)


@case(points=[(0.05,), (1.3,), (25.0,)])
def math_logarithms(x):
    return math.log(x) - math.log2(x) + math.log10(x) + math.log1p(x - 0.5)


@case(points=[(0.05,), (1.3,), (25.0,)])
def square_roots(x):
    return np.sqrt(x) + math.sqrt(2.0 * x) * x


@case(points=[(-2.5,), (0.7,), (9.1,)])
def cube_roots(x):
    return np.cbrt(x) * math.cbrt(x + 5.0)


@case(points=[(1.3, -0.4), (-0.7, 2.2), (0.2, 0.9)], kinks=True)
def absolute_values(x, y):
    return abs(x) + np.abs(y) + math.fabs(x * y) + np.fabs(x - y)


@case(points=[(1.3, -0.4), (-0.7, 2.2), (0.2, 0.9)])
def hypot(x, y):
    return np.hypot(x, y) + math.hypot(y, 1.0)


@case(points=[(1.3, -0.4), (-0.7, 2.2), (0.2, 0.9)], kinks=True)
def np_maximum_minimum(x, y):
    return np.maximum(x, y) * np.minimum(x, 2.0 * y) + np.maximum(x, 0.0)


@case(points=[(1.3, -0.4), (-0.7, 2.2), (0.2, 0.9)], kinks=True)
def builtin_min_max(x, y):
    return max(x, y) * min(x, 0.5) - min(y, x * x) + max(0.0, y)


@case(points=[(-1.6,), (0.3,), (1.2,), (2.7,)], kinks=True)
def clip(x):
    return np.clip(x, -1.0, 2.0) * x + np.clip(2.0 * x, 0.0, 1.0)


@case(points=[(1.3, -0.4), (-0.7, 2.2), (0.2, 0.9)], kinks=True)
def where(x, y):
    w = np.where(x > y, x * y, x + y)
    return w + x


@case(points=[(1.3,), (-0.7,), (2.6,)], kinks=True)
def sign(x):
    return np.sign(x) * x * x + np.sign(x - 2.0)


@case(points=[(1.3,), (-0.7,), (5.45,)], kinks=True)
def floor_ceil(x):
    return (x - np.floor(x)) + np.ceil(x) * x + math.floor(2.0 * x) - math.ceil(x / 3.0)


@case(points=[(0.3,), (-1.2,), (2.1,)])
def erf_erfc(x):
    return math.erf(x) + math.erfc(0.5 * x) * x


# --- small models ---------------------------------------------------------------------------


@case(points=[(0.3,), (-4.0,), (6.5,)])
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@case(points=[(0.3,), (-4.0,), (6.5,)], kinks=True)
def softplus(x):
    return np.log1p(np.exp(-abs(x))) + max(x, 0.0)


@case(points=[(0.4, 0.0, 1.0), (-1.3, 0.5, 0.7), (2.0, -1.0, 2.5)])
def gaussian_pdf(x, mu, sigma):
    z = (x - mu) / sigma
    return math.exp(-0.5 * z * z) / (sigma * math.sqrt(2.0 * math.pi))


@case(points=[(-1.2, 1.0), (0.5, 0.3), (1.5, 2.1)])
def rosenbrock(x, y):
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


@case(points=[(100.0, 95.0, 0.5, 0.02, 0.25), (42.0, 50.0, 1.5, 0.05, 0.4)])
def black_scholes_call(s, k, t, r, sigma):
    d1 = (math.log(s / k) + (r + 0.5 * sigma**2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    return s * _norm_cdf(d1) - k * math.exp(-r * t) * _norm_cdf(d2)


@case(points=[(1.1, 1.0, 1.0), (2.3, 0.5, 1.2), (0.95, 2.0, 0.9)])
def lennard_jones(r, eps, sigma):
    sr6 = (sigma / r) ** 6
    return 4.0 * eps * (sr6 * sr6 - sr6)


@case(points=[(3.0, 4.0, 5.0), (2.0, 2.5, 3.9), (1.0, 1.0, 1.2)])
def heron_area(a, b, c):
    s = (a + b + c) / 2.0
    return np.sqrt(s * (s - a) * (s - b) * (s - c))
