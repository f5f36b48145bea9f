"""Derivatives at the edges: the branch taken, documented one-sided values, never a silent NaN."""
import math

import numpy as np
import pytest

import srcad


def guarded_sqrt(x):
    return np.where(x > 0, np.sqrt(x), 0.0)


def guarded_log(x):
    return math.log(x) if x > 0 else -x


def clipped(x):
    return np.clip(x, -1.0, 1.0) * 3.0


def relu_max(x, y):
    return max(x, y)


@pytest.mark.parametrize("x", [-2.0, -1e-9, 0.5, 4.0])
def test_where_on_scalars_is_a_real_branch(x):
    g = srcad.grad(guarded_sqrt)(x)
    expected = 0.5 / math.sqrt(x) if x > 0 else 0.0
    assert g == pytest.approx(expected)
    assert srcad.jvp(guarded_sqrt, (x,), (1.0,))[1] == pytest.approx(expected)


@pytest.mark.parametrize("x", [-3.0, 0.25])
def test_if_expression_never_evaluates_the_other_side(x):
    g = srcad.grad(guarded_log)(x)
    assert g == pytest.approx(1 / x if x > 0 else -1.0)


@pytest.mark.parametrize("x,expected", [(-2.0, 0.0), (0.3, 3.0), (5.0, 0.0)])
def test_clip_derivative_of_the_branch_taken(x, expected):
    assert srcad.grad(clipped)(x) == expected


def test_max_away_from_a_tie_goes_to_the_larger_argument():
    assert srcad.grad(relu_max, argnums=(0, 1))(0.0, 1.0) == (0.0, 1.0)
    assert srcad.grad(relu_max, argnums=(0, 1))(2.0, 1.0) == (1.0, 0.0)


def plain_sqrt(x):
    return math.sqrt(x)


def test_sqrt_at_zero_is_the_one_sided_limit():
    assert srcad.grad(plain_sqrt)(0.0) == math.inf
    assert srcad.grad(guarded_sqrt)(1e-300) > 1e100


# ----------------------------------------------------------------------------- ties (kinks)
# At a tie max/min split the derivative evenly between their arguments (JAX's rule), and
# |x|' = sign(x) is 0 at 0: then identities between piecewise functions hold at the kinks too.

def max_plus_min(x, c):
    return max(x, c) + min(x, c)  # == x + c


def np_max_plus_min(x, c):
    return np.maximum(x, c) + np.minimum(x, c)  # == x + c


def relu_two_ways(x):
    return np.maximum(x, 0.0) - (x + np.abs(x)) / 2.0  # == 0


def abs_two_ways(x):
    return np.abs(x) - np.maximum(x, -x)  # == 0


def clip_plus_rest(x, a, b):
    # clip(x, a, b) + (x - b)^+ + (x - a)^- == x, also at x == a and x == b
    return np.clip(x, a, b) + np.maximum(x - b, 0.0) + np.minimum(x - a, 0.0)


def stable_bce(z, y):
    return np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))  # softplus(z) - z y


def log_sigmoid(z):
    return np.minimum(z, 0.0) - np.log1p(np.exp(-np.abs(z)))


def _all_derivatives(f, args):
    """d f / d args (float args) by reverse and forward mode, compiled and interpreted: a list
    of tuples, one per way."""
    floats = [i for i, a in enumerate(args) if isinstance(a, float)]
    ways = [srcad.grad(f, argnums=tuple(floats))(*args)]
    ways.append(tuple(srcad.vjp(f, *args, backend="interpret")[1](1.0)[i] for i in floats))
    for backend in ("numba", "interpret"):
        ways.append(tuple(
            srcad.jvp(f, args, [1.0 if j == i else 0.0 for j in range(len(args))],
                      backend=backend)[1] for i in floats))
    return ways


@pytest.mark.parametrize("f", [max_plus_min, np_max_plus_min])
@pytest.mark.parametrize("x,c", [(0.0, 0.0), (1.5, 1.5), (-2.0, -2.0)])
def test_max_plus_min_is_exact_at_a_tie(f, x, c):
    for way in _all_derivatives(f, (x, c)):
        assert way == (1.0, 1.0)


def test_max_tie_is_split_evenly():
    for way in _all_derivatives(relu_max, (1.0, 1.0)):
        assert way == (0.5, 0.5)


@pytest.mark.parametrize("f", [relu_two_ways, abs_two_ways])
def test_relu_and_abs_identities_hold_at_zero(f):
    for way in _all_derivatives(f, (0.0,)):
        assert way == (0.0,)


@pytest.mark.parametrize("x", [-1.0, 2.0, 0.5])
def test_clip_identity_holds_at_both_bounds(x):
    for way in _all_derivatives(clip_plus_rest, (x, -1.0, 2.0)):
        assert way == (1.0, 0.0, 0.0)


def test_stable_bce_and_log_sigmoid_at_zero():
    # d/dz (softplus(z) - z y) = sigmoid(z) - y; d/dz log sigmoid(z) = 1 - sigmoid(z)
    for way in _all_derivatives(stable_bce, (0.0, 1.0)):
        assert way == (pytest.approx(-0.5), pytest.approx(0.0))
    for way in _all_derivatives(log_sigmoid, (0.0,)):
        assert way == (pytest.approx(0.5),)


@pytest.mark.parametrize("z", [-1.3, 0.7])
def test_stable_bce_away_from_zero_matches_finite_differences(z):
    srcad.testing.check_grads(stable_bce, (z, 0.3))
    srcad.testing.check_grads(stable_bce, (z, 0.3), backend="interpret")


def arr_max_plus_min(x, c):
    return np.sum(np.maximum(x, c) + np.minimum(x, c))  # == sum(x + c)


def arr_max_plus_min_bcast(x, c):
    return np.sum((np.maximum(x, c) + np.minimum(c, x)) * np.arange(1.0, 4.0))


def test_array_ties_keep_the_identity():
    x = np.array([0.0, 1.0, -2.0])
    c = np.array([0.0, 0.5, -2.0])  # ties at 0 and 2
    for backend in ("numba", "interpret"):
        _, pb = srcad.vjp(arr_max_plus_min, x, c, backend=backend)
        gx, gc = pb(1.0)
        np.testing.assert_array_equal(gx, np.ones(3))
        np.testing.assert_array_equal(gc, np.ones(3))
        for tx, tc in [(np.ones(3), np.zeros(3)), (np.zeros(3), np.ones(3))]:
            assert srcad.jvp(arr_max_plus_min, (x, c), (tx, tc), backend=backend)[1] == 3.0
    # a scalar broadcast against an array, tied at one entry: d/dc = sum of the weights
    for backend in ("numba", "interpret"):
        _, pb = srcad.vjp(arr_max_plus_min_bcast, x, 1.0, backend=backend)
        gx, gc = pb(1.0)
        np.testing.assert_array_equal(gx, [1.0, 2.0, 3.0])
        assert gc == 6.0


def arr_max_min_fd(x, c):
    return np.sum(np.maximum(x, c) * np.minimum(x, 2.0 * c) * x)


def test_array_max_min_match_finite_differences_away_from_ties():
    x = np.array([0.3, -1.2, 2.0, 0.9])
    c = np.array([0.1, -0.5, 2.5, 0.4])
    srcad.testing.check_grads(arr_max_min_fd, (x, c))
    srcad.testing.check_grads(arr_max_min_fd, (x, c), backend="interpret")


def reduce_max_plus_min(x):
    return np.max(x) + np.min(x) + np.sum(np.max(x, axis=0))


def test_reductions_share_the_derivative_among_tied_entries():
    # np.max of [[1, 3], [3, 0]]: 3 twice; min 0 once; max over axis 0: (3, 3), each unique.
    x = np.array([[1.0, 3.0], [3.0, 0.0]])
    expected = np.array([[0.0, 1.5], [1.5, 1.0]])
    for backend in ("numba", "interpret"):
        _, pb = srcad.vjp(reduce_max_plus_min, x, backend=backend)
        np.testing.assert_array_equal(pb(1.0)[0], expected)
        e = np.zeros((2, 2))
        for i in range(2):
            for j in range(2):
                e[:] = 0.0
                e[i, j] = 1.0
                t = srcad.jvp(reduce_max_plus_min, (x,), (e,), backend=backend)[1]
                assert t == expected[i, j]


# ----------------------------------------------------------------------------- x ** n at x == 0

def power(x, n):
    return x ** n


def power_of_square(x, n):
    y = x * x
    return y ** n


def power_const(x):
    return x ** 0 + x ** 1 + x ** 2 + x ** 0.0 + x ** 1.0


@pytest.mark.parametrize("n,expected", [(0, 0.0), (1, 1.0), (2, 0.0), (3, 0.0),
                                        (0.0, 0.0), (1.0, 1.0), (2.0, 0.0)])
def test_power_derivative_at_zero_base(n, expected):
    # d/dx x**n = n x**(n-1): 0 for n == 0 (x**0 == 1 everywhere), 1 for n == 1
    for f, x in [(power, 0.0), (power_of_square, 1e-200)]:  # 1e-200**2 underflows to 0
        if f is power_of_square and expected == 1.0:
            expected = 0.0  # d/dx (x*x) = 2x = 2e-200
        g = srcad.grad(f)(x, n)
        assert g == pytest.approx(expected, abs=1e-150)
        assert srcad.vjp(f, x, n, backend="interpret")[1](1.0)[0] == \
            pytest.approx(expected, abs=1e-150)
        for backend in ("numba", "interpret"):
            t = srcad.jvp(f, (x, n), (1.0, 0.0 if isinstance(n, float) else 0),
                          backend=backend)[1]
            assert t == pytest.approx(expected, abs=1e-150)


def test_power_with_literal_exponents_at_zero():
    for way in _all_derivatives(power_const, (0.0,)):
        assert way == (2.0,)


def test_sqrt_power_at_zero_is_still_infinite():
    assert srcad.grad(power)(0.0, 0.5) == math.inf
    assert srcad.vjp(power, 0.0, 0.5, backend="interpret")[1](1.0)[0] == math.inf


@pytest.mark.parametrize("n", [0, 1, 3, 0.0, 2.5])
def test_power_second_derivative_at_zero_n_and_elsewhere(n):
    srcad.testing.check_grads(power, (0.7, n), order=2)
    h = srcad.hessian(power)(0.0, 0) if n == 0 else None
    assert h is None or h == 0.0


def array_power(x, n):
    return np.sum(x ** n)


def test_array_power_at_zero_entries():
    x = np.array([0.0, 2.0, -1.5])
    for backend in ("numba", "interpret"):
        g = srcad.vjp(array_power, x, 0, backend=backend)[1](1.0)[0]
        np.testing.assert_array_equal(g, np.zeros(3))
        g = srcad.vjp(array_power, x, 1, backend=backend)[1](1.0)[0]
        np.testing.assert_array_equal(g, np.ones(3))


def where_scalar_sides(x, c):
    return np.sum(np.where(x > 0, 1.0, c) * x)


def test_where_with_an_array_condition_and_scalar_sides():
    # the result has the condition's shape (was typed as a scalar: a Numba TypingError)
    x = np.array([1.0, -2.0, 3.0])
    assert srcad.differentiate(where_scalar_sides)(x, 2.0) == where_scalar_sides(x, 2.0)
    srcad.testing.check_grads(where_scalar_sides, (x, 2.0))
