"""The worked examples of AD teaching material, in both modes, against hand derivations."""
import math

import numpy as np
import pytest

import srcad
from srcad import differentiate


@differentiate
def seed(x1, x2):
    return np.log(x1) + x1 * x2 - np.sin(x2)


def mul_add(x, y, z):
    q = x + y
    return q * z


def two_paths(a, b):
    c = a + b
    d = b + 1
    return c * d


def logistic_loss(w, b, x, t, lam):
    z = w * x + b
    y = 1.0 / (1.0 + math.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w * w


def _both_modes(f, args):
    """Gradient of f at args by reverse mode and, one tangent at a time, by forward mode."""
    rev = srcad.grad(f, argnums=tuple(range(len(args))))(*args)
    fwd = tuple(srcad.jvp(f, args, [1.0 if j == i else 0.0 for j in range(len(args))])[1]
                for i in range(len(args)))
    return rev, fwd


def test_seed_value_and_gradient():
    assert seed(2.0, 5.0) == pytest.approx(11.652071455223084, rel=1e-15)
    # d/dx1 = 1/x1 + x2, d/dx2 = x1 - cos(x2)
    expected = (1 / 2.0 + 5.0, 2.0 - math.cos(5.0))
    assert seed.grad(2.0, 5.0) == pytest.approx(expected, rel=1e-14)
    rev, fwd = _both_modes(seed, (2.0, 5.0))
    assert rev == pytest.approx(expected, rel=1e-14)
    assert fwd == pytest.approx(expected, rel=1e-14)
    value, grad = seed.value_and_grad(2.0, 5.0)
    assert value == pytest.approx(11.652071455223084, rel=1e-15)
    assert grad == pytest.approx(expected, rel=1e-14)


def test_mul_add():
    # f = (x + y) z at (-2, 5, -4): df/dx = df/dy = z = -4, df/dz = x + y = 3
    for grads in _both_modes(mul_add, (-2.0, 5.0, -4.0)):
        assert grads == (-4.0, -4.0, 3.0)


def test_two_paths():
    # f = (a + b)(b + 1) at (2, 1): df/da = b + 1 = 2, df/db = (b + 1) + (a + b) = 5
    for grads in _both_modes(two_paths, (2.0, 1.0)):
        assert grads == (2.0, 5.0)


@pytest.mark.parametrize("w,b,x,t,lam", [(0.5, -0.3, 1.7, 1.0, 0.1), (-2.0, 0.4, 0.3, 0.0, 0.5)])
def test_logistic_unit(w, b, x, t, lam):
    y = 1.0 / (1.0 + math.exp(-(w * x + b)))
    dw = (y - t) * y * (1 - y) * x + lam * w
    db = (y - t) * y * (1 - y)
    for grads in _both_modes(logistic_loss, (w, b, x, t, lam)):
        assert grads[0] == pytest.approx(dw, rel=1e-13)
        assert grads[1] == pytest.approx(db, rel=1e-13)


def test_seed_check_grads_second_order():
    srcad.testing.check_grads(seed, (2.0, 5.0), modes=("fwd", "rev"), order=2)


def test_seed_hessian_by_hand():
    # d2f/dx1^2 = -1/x1^2, d2f/dx1dx2 = 1, d2f/dx2^2 = sin(x2)
    h = srcad.hessian(seed, (0, 1))(2.0, 5.0)
    assert h[0][0] == pytest.approx(-0.25)
    assert h[0][1] == pytest.approx(1.0) and h[1][0] == pytest.approx(1.0)
    assert h[1][1] == pytest.approx(math.sin(5.0))
