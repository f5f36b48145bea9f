"""Corpus of small functions with control flow: branches, for/while loops, break/continue,
early returns and helpers called from loops and branches.

Branch conditions and trip counts depend on float data, int arguments and loop counters.
Every point keeps a margin from the places where a data-dependent branch or trip count
switches (``python -m tests.corpus_check`` verifies it), so finite differences are valid.
Helpers whose names start with an underscore are not registered; srcad inlines them.
"""

import math

import numpy as np

from tests.registry import Case, registrar

CASES: list[Case] = []
case = registrar(CASES)

DT = 0.001
T_END = 5.0
N_NEWTON = 12
COS_A = math.cos(0.3)
SIN_A = math.sin(0.3)


def _step(s, x):
    return 0.5 * s + 0.1 * x * s + x


def _piecewise(x):
    if x < 0.0:
        return -0.5 * x
    elif x < 1.0:
        return x * x
    return 2.0 * x - 1.0


def _horner(x, n):
    acc = 0.0
    for k in range(n, -1, -1):
        acc = acc * x + (k + 1)
    return acc


def _first_above(x, limit):
    for i in range(50):
        x = 1.3 * x + 0.1
        if x > limit:
            return x - i
    return -x


def _gcd(a, b):
    while b != 0:
        a, b = b, a % b
    return a


def _rhs(y, t, k):
    return -k * y + np.sin(t)


def _rk4(y, t, h, k):
    k1 = _rhs(y, t, k)
    k2 = _rhs(y + 0.5 * h * k1, t + 0.5 * h, k)
    k3 = _rhs(y + 0.5 * h * k2, t + 0.5 * h, k)
    k4 = _rhs(y + h * k3, t + h, k)
    return y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


# --- branches --------------------------------------------------------------------------------


@case(points=[(1.3,), (0.2,), (-2.0,)], kinks=True)
def if_else(x):
    if x > 0.5:
        y = x * x
    else:
        y = -x
    return y + 1.0


@case(points=[(-1.7,), (-0.4,), (0.6,), (2.2,), (4.5,)], kinks=True)
def if_elif_else(x):
    if x < -1.0:
        y = -x
    elif x < 1.0:
        y = x * x + 0.5
    elif x < 3.0:
        y = math.sin(x)
    else:
        y = math.log(x)
    return 2.0 * y


@case(points=[(1.2, 0.7), (0.8, -0.3), (-0.6, 1.5), (-1.5, -2.5)], kinks=True)
def nested_if(x, y):
    if x > 0.0:
        if y > 0.0:
            r = x * y
        else:
            r = x - y
    else:
        if y > x:
            r = y * y
        else:
            r = x * y + 1.0
    return r


@case(points=[(1.6,), (0.4,), (-3.0,)], kinks=True)
def if_without_else(x):
    y = 2.0 * x
    if x > 1.0:
        y = y * x
    return y


@case(points=[(1.3, 0), (1.3, -2), (0.7, 3), (-1.1, 4)])
def if_on_int(x, n):
    if n == 0:
        return x
    elif n < 0:
        return -x * n
    else:
        return x**n


@case(points=[(1.3,), (-0.8,)], kinks=True)
def defined_in_both_branches(x):
    if x > 0.0:
        a = x
        b = 2.0 * x
    else:
        a = -x
        b = x * x
    return a * b


@case(points=[(1.3, 0.2), (-0.8, 0.5), (2.0, 3.1)], kinks=True)
def branch_returns_tuple(x, y):
    if x > y:
        return x, y * x
    else:
        return y, x - y


@case(points=[(-1.5,), (0.8,), (3.4,)], kinks=True)
def several_returns(x):
    if x < 0.0:
        return x * x
    if x < 2.0:
        return math.exp(x)
    return 4.0 - x


@case(points=[(1.5, 1.2), (-0.5, -3.0), (0.4, 0.6), (2.0, -0.1)], kinks=True)
def boolean_condition(x, y):
    if x * y > 1.0 and not x < 0.0:
        return x + y
    elif x < 0.0 or y > 0.5:
        return x * y
    return x - y


@case(points=[(1.5, 1.2), (-0.5, -3.0), (0.4, 0.6)], kinks=True)
def bool_variable(x, y):
    flag = x > y
    if flag:
        return x * 2.0
    return y * 3.0


@case(points=[(1.3, 2), (1.3, 3), (-0.4, 7)])
def branch_on_int_parity(x, n):
    if n % 2 == 0:
        y = x * n
    else:
        y = x / n
    return y + x


@case(points=[(1.5, 0.5), (0.3, 2.0), (-1.0, -0.2)], kinks=True)
def reassign_argument_in_branch(x, y):
    if x > y:
        x = x - y
    else:
        y = y - x
    return x * y + x


# --- for loops over range ---------------------------------------------------------------------


@case(points=[(1.3, 5), (-0.7, 1), (2.0, 0), (0.4, 12)])
def sum_range(x, n):
    s = 0.0
    for i in range(n):
        s += x * i
    return s + x


@case(points=[(0.9,), (-1.2,), (1.7,)])
def range_start_stop(x):
    s = 1.0
    for i in range(2, 7):
        s = s * x + i
    return s


@case(points=[(0.9,), (-1.2,), (1.7,)])
def range_step(x):
    s = 0.0
    for i in range(1, 10, 3):
        s = s + x**i / i
    return s


@case(points=[(0.9,), (-1.2,), (1.7,)])
def range_negative_step(x):
    s = 0.0
    for i in range(10, -3, -2):
        s = s * 0.5 + x * x / (i + 3.5)
    return s


@case(points=[(1.3, 0, 10, 3), (0.7, 8, -4, -3), (-0.5, 5, 5, 1), (0.6, -3, 4, 2)])
def range_int_arguments(x, start, stop, step):
    s = x
    for i in range(start, stop, step):
        s = s * 0.9 + x * i
    return s


@case(points=[(0.8, 6), (-1.1, 3), (1.4, 1)])
def countdown_from_argument(x, n):
    s = 0.0
    for i in range(n, 0, -1):
        s = s * x + i
    return s


@case(points=[(1.3, 5), (-0.7, 1), (2.0, 3)])
def loop_variable_after_loop(x, n):
    s = 0.0
    for i in range(n):
        s += x
    return s * i


@case(points=[(1.3, 0), (-0.7, 4)])
def loop_variable_predefined(x, n):
    i = -1
    for i in range(n):
        x = x * 1.1
    return x * i


@case(points=[(1.3, 5), (-0.7, 3)])
def loop_variable_reassigned(x, n):
    s = 0.0
    for i in range(n):
        i = i * 2
        s += x * i
    return s


@case(points=[(1.3, 5), (-0.7, 3), (0.2, 0)])
def range_of_expression(x, n):
    s = 0.0
    for i in range(2 * n + 1):
        s += x ** (i % 3)
    return s


@case(points=[(0.6, 4), (-0.9, 3), (1.1, 6)])
def nested_loops(x, n):
    s = 0.0
    for i in range(n):
        for j in range(i):
            s += x**j * i
    return s


@case(points=[(0.6, 4), (-0.9, 3)])
def nested_dependent_ranges(x, n):
    s = 0.0
    for i in range(n):
        for j in range(i, 2 * i + 1):
            s = s + x * j - 0.1 * s
    return s


@case(points=[(0.6,), (-0.9,)])
def triple_nested_loops(x):
    s = 0.0
    for i in range(3):
        for j in range(1, 4):
            for k in range(j, 0, -1):
                s += x**k * (i + j)
    return s


@case(points=[(0.6, 4), (-0.9, 3), (1.5, 0)])
def serial_loops(x, n):
    s = x
    for i in range(n):
        s = s * x + 1.0
    t = 0.0
    for i in range(n, 2 * n + 2):
        t = t + s / (i + 1)
    return t


@case(points=[(0.6, 4), (-0.9, 3), (1.5, 7)])
def accumulators(x, n):
    total = 0.0
    product = 1.0
    squares = 0.0
    for i in range(1, n + 1):
        v = x / i + 0.5
        total += v
        product *= v
        squares += v * v
    return total, product, squares


@case(points=[(0.6, 10), (-2.3, 25), (3.1, 30)])
def taylor_exp(x, n):
    term = 1.0
    s = 1.0
    for k in range(1, n):
        term *= x / k
        s += term
    return s


@case(points=[(0.6, 8), (-2.3, 12)])
def taylor_sin(x, n):
    s = 0.0
    term = x
    for k in range(n):
        if k % 2 == 0:
            s += term
        else:
            s -= term
        term = term * x * x / ((2 * k + 2) * (2 * k + 3))
    return s


@case(points=[(0.6, 10), (-0.4, 7), (1.2, 15)])
def fibonacci_swap(x, n):
    a, b = 0.0, 1.0
    for _ in range(n):
        a, b = b, a + x * b
    return a


@case(points=[(2.0,), (0.3,), (50.0,)])
def newton_sqrt(a):
    y = a
    for _ in range(N_NEWTON):
        y = 0.5 * (y + a / y)
    return y


@case(points=[(0.6, 10), (-2.3, 4)])
def reassigned_argument_loop(x, n):
    for i in range(n):
        x = 0.9 * x + 0.1 * i
    return x


@case(points=[(1.2, 3.0, 8), (-0.5, 0.7, 5)])
def rotation_tuple_state(x, y, n):
    for _ in range(n):
        x, y = COS_A * x - SIN_A * y, SIN_A * x + COS_A * y
    return x, y


@case(points=[(1.2, 10), (0.4, 4)])
def trig_in_loop(x, n):
    s = 0.0
    for i in range(n):
        s += math.sin(x * i) / (i + 1) + np.cos(x) * i
    return s


@case(points=[(0.6, 50), (-1.7, 20)])
def kahan_sum(x, n):
    s = 0.0
    c = 0.0
    for i in range(n):
        y = x / (i + 1) - c
        t = s + y
        c = (t - s) - y
        s = t
    return s


# --- branches inside loops and loops inside branches -------------------------------------------


@case(points=[(0.8, 9), (-1.3, 5), (1.1, 2)])
def branches_on_loop_counter(x, n):
    s = 1.0
    for i in range(n):
        if i % 3 == 0:
            s += x
        elif i % 3 == 1:
            s *= x
        else:
            s -= 0.5 * x
    return s


@case(points=[(0.8, 4), (-1.3, 5)], kinks=True)
def loop_inside_branch(x, n):
    s = 0.0
    if x > 0.0:
        for i in range(n):
            s += x * i
    else:
        for i in range(n, 0, -1):
            s = s * x + i
    return s


@case(points=[(0.37, 8), (-0.6, 6), (1.9, 5)], kinks=True)
def data_branch_in_loop(x, n):
    s = x
    for i in range(n):
        if s > 1.0:
            s = 0.5 * s
        else:
            s = s + x * i
    return s


@case(points=[(0.45, 10), (1.3, 6), (-0.9, 4)], kinks=True)
def branch_on_data_and_counter(x, n):
    s = 0.0
    for i in range(n):
        if x * i > 3.0:
            s += x * x
        else:
            s -= x / (i + 1)
    return s


@case(points=[(0.45, 10), (-0.9, 4)])
def conditional_expression_in_loop(x, n):
    s = 0.0
    for i in range(n):
        s += x if i % 2 == 0 else -0.5 * x * x
    return s


@case(points=[(0.7, 6), (-0.4, 9)], kinks=True)
def running_max(x, n):
    m = x
    for i in range(n):
        v = math.sin(x * i + 0.3)
        if v > m:  # noqa: PLR1730 - the branch is the point
            m = v
    return m


@case(points=[(0.5, 1.3, 6), (-0.3, 0.8, 4)], kinks=True)
def relu_chain(x, w, n):
    h = x
    for i in range(n):
        h = max(w * h - 0.1 * i + 0.4, 0.0)
    return h


# --- while loops ------------------------------------------------------------------------------


@case(points=[(1.3,), (0.2,), (-0.05,), (150.0,)], kinks=True)
def while_data(x):
    while x < 100.0:
        x = 1.5 * x + 0.1
    return x


@case(points=[(1.3, 5), (-0.7, 0), (0.4, 11)])
def while_counter(x, n):
    s = 0.0
    i = 0
    while i < n:
        s += x / (i + 1)
        i += 1
    return s


@case(points=[(5.3,), (0.7,), (1000.5,)], kinks=True)
def while_halving(x):
    k = 0
    while x > 1.0:
        x = x / 2.0
        k += 1
    return x * x + k


@case(points=[(0.3,), (1.7,), (4.2,)], kinks=True)
def while_break(x):
    s = 0.0
    i = 0
    while i < 1000:
        s += x * i
        i += 1
        if s > 10.0:
            break
    return s + i


@case(points=[(0.3, 9), (1.1, 6)])
def while_continue(x, n):
    s = 0.0
    i = 0
    while i < n:
        i += 1
        if i % 2 == 0:
            continue
        s += x**i / i
    return s


@case(points=[(0.3,), (2.1,)], kinks=True)
def while_true_return(x):
    i = 0
    while True:
        x = x * x + 0.25
        i += 1
        if x > 2.0:
            return x + i
        if i > 40:
            return -x


@case(points=[(0.8, 5), (-1.2, 3), (0.5, 0)])
def countdown_argument(x, n):
    while n > 0:
        x = x * 0.8 + n
        n -= 1
    return x


@case(points=[(0.8, 4), (-1.2, 3)])
def for_inside_while(x, n):
    s = 0.0
    k = 0
    while k < n:
        for j in range(k):
            s += x * j
        k += 1
    return s


@case(points=[(0.8, 12, 18), (-1.2, 35, 14), (2.5, 7, 5)])
def gcd_data(x, a, b):
    g = _gcd(a, b)
    return x * g + x / (g + 1)


@case(points=[(0.8, 6), (-1.2, 27), (2.5, 1)])
def collatz_steps(x, n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return x * steps + x


@case(points=[(0.5, 0.5), (-0.2, 0.1), (-0.7, 0.2)], kinks=True)
def mandelbrot_escape(cx, cy):
    zx = 0.0
    zy = 0.0
    i = 0
    for i in range(30):
        zx, zy = zx * zx - zy * zy + cx, 2.0 * zx * zy + cy
        if zx * zx + zy * zy > 4.0:
            break
    return zx + zy + i


# --- break, continue, early returns -----------------------------------------------------------


@case(points=[(0.3, 20), (1.7, 20), (0.3, 3)], kinks=True)
def break_in_for(x, n):
    s = 0.0
    i = 0
    for i in range(n):
        s += x * i
        if s > 5.0:
            break
    return s + i


@case(points=[(0.3, 9), (-1.1, 6)])
def continue_in_for(x, n):
    s = 0.0
    for i in range(n):
        if i % 2 == 0:
            continue
        s += x**i
    return s


@case(points=[(0.3, 5), (-1.1, 4)])
def break_inner_loop(x, n):
    s = 0.0
    for i in range(n):
        for j in range(n):
            if j > i:
                break
            s += x * j + i
    return s


@case(points=[(0.3, 5), (-1.1, 4)])
def continue_in_nested_loop(x, n):
    s = 0.0
    for i in range(n):
        for j in range(n):
            if (i + j) % 2 == 1:
                continue
            s = s * 0.5 + x ** (j + 1)
    return s


@case(points=[(0.3, 6), (1.2, 4)], kinks=True)
def break_outer_with_flag(x, n):
    s = 0.0
    done = False
    for i in range(n):
        for j in range(n):
            s += x * (i + j)
            if s > 4.0:
                done = True
                break
        if done:
            break
    return s


@case(points=[(0.3, 20), (2.5, 20), (0.3, 2)], kinks=True)
def return_in_loop(x, n):
    for i in range(n):
        x = 1.2 * x + 0.1
        if x > 5.0:
            return x * i
    return -x


@case(points=[(0.3, 6), (1.3, 4), (0.01, 3)], kinks=True)
def return_from_nested_loop(x, n):
    for i in range(n):
        for j in range(n):
            if i * j * x > 4.0:
                return float(i) + x * j
    return x


@case(points=[(0.3, 0), (0.3, -2), (1.3, 4)])
def early_return_before_loop(x, n):
    if n <= 0:
        return x * x
    s = 0.0
    for i in range(n):
        s = s * x + 1.0
    return s


@case(points=[(0.7, 0), (0.7, 1), (0.7, 6), (2.5, 6), (-0.9, 3)], kinks=True)
def returns_everywhere(x, n):
    if n == 0:
        return x
    if n == 1:
        return x * x
    for i in range(n):
        x = x * 1.5
        if x > 10.0:
            return x - i
    return x / n


# --- helpers called from loops and branches ---------------------------------------------------


@case(points=[(0.3, 6), (-0.7, 10)])
def helper_in_loop(x, n):
    s = 1.0
    for i in range(n):
        s = _step(s, x)
    return s


@case(points=[(1.3, 0.2), (-0.8, 0.5), (0.5, 3.1)], kinks=True)
def helper_in_branch(x, y):
    if x > y:
        return _piecewise(x) * y
    else:
        return _piecewise(y) + x


@case(points=[(0.7, 3), (-1.2, 0), (1.1, 6)])
def helper_with_loop(x, n):
    return _horner(x, n) + _horner(2.0 * x, 2)


@case(points=[(2.3, 5), (0.7, 3), (-0.3, 2)], kinks=True)
def branching_helper_in_loop(x, n):
    s = 0.0
    for i in range(n):
        s += _piecewise(x - 0.55 * i)
    return s


@case(points=[(0.3,), (2.2,), (-0.6,)], kinks=True)
def helper_with_early_return(x):
    return _first_above(x, 10.0) + _first_above(x, 3.0)


@case(points=[(1.0, 0.8, 50), (-0.5, 2.0, 20)])
def rk4_integration(y, k, n):
    h = 0.05
    t = 0.0
    for i in range(n):
        y = _rk4(y, t, h, k)
        t = t + h
    return y


# --- long loops (cheap per iteration) ---------------------------------------------------------


@case(points=[(0.7, 100_000), (-0.3, 100_000)])
def long_for_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + 1e-5 * (x - s * s)
    return s


@case(points=[(0.7,), (-0.3,)])
def long_while_euler(x):
    t = 0.0
    y = 1.0
    while t < T_END:
        y = y + DT * (-x * y + 0.1 * t)
        t = t + DT
    return y
