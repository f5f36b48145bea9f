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


def test_max_tie_goes_to_the_first_argument():
    assert srcad.grad(relu_max, argnums=(0, 1))(1.0, 1.0) == (1.0, 0.0)
    assert srcad.grad(relu_max, argnums=(0, 1))(0.0, 1.0) == (0.0, 1.0)


def plain_sqrt(x):
    return math.sqrt(x)


def test_sqrt_at_zero_is_the_one_sided_limit():
    assert srcad.grad(plain_sqrt)(0.0) == math.inf
    assert srcad.grad(guarded_sqrt)(1e-300) > 1e100
