"""Negative slice steps (``x[::-1]``, ``x[a:b:-k]``): lowered to a reversed view (the ``flip``
primitive) sliced with a positive step, with Python's bounds for negative steps (defaults,
negative bounds, clipping, empty results).  Values against NumPy, both modes against finite
differences; a step that is not a literal and writes through a reversed view are errors."""
import numpy as np
import pytest

import srcad
from srcad.errors import SrcadError
from srcad.testing import check_grads


def reversed_all(x):
    return np.sum(np.sin(x[::-1]) * np.arange(7.0))


def every_second_backwards(x):
    return np.sum(x[::-2] * x[::-2] * np.arange(4.0))


def bounded(x):
    return np.sum(np.exp(x[5:1:-1]) * np.arange(4.0))


def negative_bounds(x):
    return np.sum(x[-2:-6:-2] ** 3)


def clipped_bounds(x):
    return np.sum(x[100:-100:-3] * np.arange(3.0))


def empty_range(x):
    return np.sum(x[1:5:-1]) + np.sum(x * x)


def reversed_rows(A):
    return np.sum(np.tanh(A[::-1] @ np.arange(3.0)) * np.arange(4.0))


def copied_in_a_loop(x):
    y = np.zeros(7)
    r = x[::-1]
    for i in range(7):
        y[i] = r[i] * (i + 1.0)
    return np.sum(y * y)


CASES = [reversed_all, every_second_backwards, bounded, negative_bounds, clipped_bounds,
         empty_range, copied_in_a_loop]


@pytest.mark.parametrize("f", CASES + [reversed_rows], ids=lambda f: f.__name__)
def test_negative_steps_match_numpy_and_fd(f):
    x = np.linspace(-1.0, 2.0, 12).reshape(4, 3) if f is reversed_rows else \
        np.linspace(-1.0, 2.0, 7)
    assert srcad.differentiate(f)(x) == pytest.approx(f(x), rel=1e-13)
    check_grads(f, (x,), modes=("fwd", "rev"))


def test_reversed_gradient_is_the_reversed_weights():
    """d/dx sum(x[::-1] * w) = w[::-1], exactly."""
    def f(x, w):
        return np.sum(x[::-1] * w)
    x, w = np.linspace(0.0, 1.0, 5), np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(srcad.grad(f)(x, w), w[::-1])


def test_step_must_be_a_literal():
    def f(x, k):
        return np.sum(x[::k])
    with pytest.raises(SrcadError, match="int literal"):
        srcad.grad(f)(np.ones(4), 2)


def test_writing_through_a_reversed_view_is_an_error():
    def f(x):
        y = x * 1.0
        r = y[::-1]
        r[0] = 0.0
        return np.sum(y)
    with pytest.raises(SrcadError, match="view"):
        srcad.grad(f)(np.ones(4))


def flipped(x, A):
    return np.sum(np.flip(x) * np.arange(7.0)) + np.sum(np.flip(A, axis=0)[0] * np.flipud(A)[1])


def test_np_flip_and_flipud():
    x, A = np.linspace(-1.0, 2.0, 7), np.linspace(-1.0, 1.0, 12).reshape(4, 3)
    assert srcad.differentiate(flipped)(x, A) == pytest.approx(flipped(x, A), rel=1e-13)
    check_grads(flipped, (x, A), modes=("fwd", "rev"))


def test_np_flip_of_other_axes_is_an_error():
    def f(A):
        return np.sum(np.flip(A, axis=1))
    with pytest.raises(SrcadError, match="axis=0"):
        srcad.grad(f)(np.ones((2, 3)))
