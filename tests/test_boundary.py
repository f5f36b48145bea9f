"""Python and NumPy semantics at srcad's boundary: 0-d array arguments, reductions over several
axes, calls srcad has no rule for, and module globals and closure cells that change between
calls.  (Ties at kinks and x ** n at 0 are in test_numerics.py.)"""
from __future__ import annotations

import math

import numpy as np
import pytest

import srcad
import srcad.testing
from tests import fd

# ----------------------------------------------------------------------------- 0-d arrays
# A 0-d array argument is a scalar of its dtype; its gradient is a 0-d array (as in JAX, the
# cotangent has the argument's shape), a float argument's gradient stays a float.


def lecture(x1, x2):
    return np.log(x1) + x1 * x2 - np.sin(x2)


def lecture_math(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def scaled_count(x, n):
    return x * n + np.sum(np.ones(3) * x)


def _is_0d(g, dtype=np.float64):
    return isinstance(g, np.ndarray) and g.shape == () and g.dtype == dtype


@pytest.mark.parametrize("f", [lecture, lecture_math])
def test_0d_array_arguments_primal_and_grad(f):
    a, b = np.array(2.0), np.array(5.0)
    expected = fd.partial(f, (2.0, 5.0), 0)[0], fd.partial(f, (2.0, 5.0), 1)[0]
    assert srcad.differentiate(f)(a, b) == pytest.approx(f(a, b), rel=1e-15)
    assert srcad.interpret(f, a, b) == pytest.approx(f(a, b), rel=1e-15)
    g = srcad.grad(f, argnums=(0, 1))(a, b)
    assert all(_is_0d(gi) for gi in g)
    np.testing.assert_allclose([float(g[0]), float(g[1])], expected, rtol=1e-6)
    g0 = srcad.grad(f)(a, 5.0)  # mixed: a 0-d array and a float
    assert _is_0d(g0) and float(g0) == pytest.approx(expected[0], rel=1e-6)
    g1 = srcad.grad(f, argnums=1)(a, 5.0)
    assert isinstance(g1, float) and g1 == pytest.approx(expected[1], rel=1e-6)
    (v, gs) = srcad.value_and_grad(f, argnums=(0, 1))(a, b)
    assert v == pytest.approx(f(2.0, 5.0)) and all(_is_0d(gi) for gi in gs)
    assert srcad.differentiate(f).grad(a, 5.0)[1] == pytest.approx(expected[1], rel=1e-6)


def test_0d_array_arguments_jvp_vjp_hessian():
    a, b = np.array(2.0), np.array(5.0)
    expected = fd.partial(lecture, (2.0, 5.0), 0)[0], fd.partial(lecture, (2.0, 5.0), 1)[0]
    for backend in ("numba", "interpret"):
        v, t = srcad.jvp(lecture, (a, b), (np.array(1.0), np.array(0.0)), backend=backend)
        assert v == pytest.approx(lecture(2.0, 5.0)) and t == pytest.approx(expected[0])
        v, t = srcad.jvp(lecture, (a, b), (0.0, 1.0), backend=backend)
        assert t == pytest.approx(expected[1])
        v, pb = srcad.vjp(lecture, a, b, backend=backend)
        g = pb(1.0)
        assert all(_is_0d(gi) for gi in g)
        np.testing.assert_allclose([float(g[0]), float(g[1])], expected, rtol=1e-6)
    h = srcad.hessian(lecture, argnums=(0, 1))(a, b)
    hf = srcad.hessian(lecture, argnums=(0, 1))(2.0, 5.0)
    np.testing.assert_allclose(np.array(h, dtype=float), np.array(hf), rtol=1e-14)
    srcad.testing.check_grads(lecture, (a, b), order=2)


def test_0d_int_and_float32_arrays():
    n = np.array(3)
    assert srcad.differentiate(scaled_count)(2.0, n) == scaled_count(2.0, n)
    g = srcad.grad(scaled_count)(np.array(2.0), n)
    assert _is_0d(g) and float(g) == 6.0
    x32 = np.array(2.0, dtype=np.float32)
    g32 = srcad.grad(lecture)(x32, np.float32(5.0))
    assert _is_0d(g32, np.float32) and float(g32) == pytest.approx(5.5, rel=1e-6)
    # an array and its 0-d form, one after the other, through the same entry
    grad = srcad.grad(lecture)
    assert isinstance(grad(2.0, 5.0), float) and _is_0d(grad(np.array(2.0), 5.0))
    assert isinstance(grad(2.0, 5.0), float)


def test_0d_array_jacobians_are_0d():
    a, b = np.array(2.0), np.array(5.0)
    expected = fd.partial(lecture, (2.0, 5.0), 0)[0], fd.partial(lecture, (2.0, 5.0), 1)[0]
    for jac in (srcad.jacfwd, srcad.jacrev):
        j = jac(lecture, argnums=(0, 1))(a, b)
        assert all(_is_0d(ji) for ji in j)
        np.testing.assert_allclose([float(j[0]), float(j[1])], expected, rtol=1e-6)


# ----------------------------------------------------------------------------- reductions
# Every axis combination: all axes as a tuple, the only axis of a 1-D array, keepdims with and
# without an axis, negative axes, method forms; primal == NumPy, derivatives == FD.

def red_all_axes(X):
    return np.sum(X, axis=(0, 1))


def red_1d_axis0(x):
    return np.sum(x, axis=0) * np.max(x, axis=0) + np.mean(x, axis=-1) - np.min(x, axis=(0,))


def red_mean_method(X):
    return np.mean(X, axis=(0, 1)) + X.sum(axis=(-1, 0)) + X.max(axis=(1, 0))


def red_keepdims_all(X):
    return np.sum(np.max(X, axis=(0, 1), keepdims=True) * X) + np.min(X, axis=(1, 0))


def red_keepdims_none(X):
    return np.sum(X * np.sum(X, keepdims=True)) + np.sum(np.mean(X, keepdims=True) * X)


def red_3d(T):
    return np.sum(np.sum(T, axis=(0, 2)) ** 2) + np.mean(T, axis=(0, 1, 2)) + \
        T.max(axis=(2, 0, 1)) * np.sum(T) + np.sum(np.var(T, axis=(0, 1)))


_X = np.array([[0.3, -1.2, 2.0], [0.9, 1.7, -0.4]])
_RED_CASES = [(red_all_axes, _X), (red_1d_axis0, _X[0]), (red_mean_method, _X),
              (red_keepdims_all, _X), (red_keepdims_none, _X),
              (red_3d, np.sin(np.arange(24.0)).reshape(2, 3, 4))]


@pytest.mark.parametrize("f,x", _RED_CASES, ids=[c[0].__name__ for c in _RED_CASES])
def test_reductions_over_any_axes(f, x):
    assert srcad.differentiate(f)(x) == pytest.approx(f(x), rel=1e-13)
    assert srcad.interpret(f, x) == pytest.approx(f(x), rel=1e-13)
    srcad.testing.check_grads(f, (x,))
    srcad.testing.check_grads(f, (x,), backend="interpret")
    assert srcad.grad(f)(x).shape == x.shape


def red_max_3d_axis(T):
    return np.sum(np.max(T, axis=1))


def test_max_along_an_axis_of_a_3d_array_is_a_located_error():
    with pytest.raises(srcad.UnsupportedCallError, match=r"test_boundary.py:\d+:\d+: .*np.max"):
        srcad.differentiate(red_max_3d_axis)(np.ones((2, 3, 4)))


# ----------------------------------------------------------------------------- unknown calls
# A call srcad has no rule for is a located UnsupportedCallError at the call, naming the
# callee as written, with a hint.

class _Model:
    scale = 2.0

    def apply(self, x):
        return self.scale * x


_model = _Model()
_exec_ns: dict = {}
exec("def no_source(x):\n    return x * 2.0\n", _exec_ns)
_no_source = _exec_ns["no_source"]


def call_random(x):
    return np.sum(x + np.random.normal(size=x.shape))


def call_scipy_method(x):
    import_free = _norm_cdf(x)
    return import_free * 2.0


def call_object_method(x):
    return _model.apply(x) + 1.0


def call_helper_without_source(x):
    return _no_source(x) + 1.0


def call_builtin_unknown(x):
    return x + float(hash(x))


try:
    from scipy.stats import norm as _norm
    _norm_cdf = _norm.cdf
except ImportError:  # pragma: no cover  (scipy is a dependency: Numba's BLAS)
    _norm_cdf = None


@pytest.mark.parametrize("f,args,callee,hint", [
    (call_random, (np.ones(2),), "np.random.normal", "pass random numbers in as an argument"),
    (call_scipy_method, (0.5,), "_norm_cdf", "method"),
    (call_object_method, (0.5,), "_model.apply", "method"),
    (call_helper_without_source, (0.5,), "_no_source", "source"),
    (call_builtin_unknown, (0.5,), "hash", "primitive"),
])
def test_unknown_calls_are_located_errors(f, args, callee, hint):
    for run in (lambda: srcad.grad(f)(*args), lambda: srcad.differentiate(f)(*args),
                lambda: srcad.interpret(f, *args)):
        with pytest.raises(srcad.UnsupportedCallError) as info:
            run()
        err = info.value
        assert err.loc is not None and err.loc.filename == __file__
        assert callee in err.loc.text[err.loc.col:]  # points at the call
        assert callee in err.reason
        assert "no rule" in err.reason or "cannot inline" in err.reason
        assert hint in err.hint


# ----------------------------------------------------------------------------- changed globals
# A module global or closure cell folded into the compiled code is checked on every call: a
# new value (a notebook cell rerun) gets code built for it, by the same transform object and
# by new ones.

from tests import boundary_globals as bg  # noqa: E402


@pytest.fixture
def restore_globals():
    saved = dict(vars(bg))
    yield
    for k in ("SCALE", "POWER", "OFFSETS", "WEIGHTS", "helper"):
        setattr(bg, k, saved[k])
    bg.cfg.gain = 3.0
    bg.holder.k = 2.0


def test_changed_global_primal_grad_jvp_vjp(restore_globals):
    f = srcad.differentiate(bg.scaled)
    g = srcad.grad(bg.scaled)
    assert (f(1.5), g(1.5), f.grad(1.5)) == (4.5, 6.0, 6.0)
    assert srcad.jvp(bg.scaled, (1.5,), (1.0,)) == (4.5, 6.0)
    assert srcad.vjp(bg.scaled, 1.5)[1](1.0) == (6.0,)
    bg.SCALE = 3.0
    assert (f(1.5), g(1.5), f.grad(1.5), srcad.grad(bg.scaled)(1.5)) == (6.75, 9.0, 9.0, 9.0)
    assert srcad.jvp(bg.scaled, (1.5,), (1.0,)) == (6.75, 9.0)
    assert srcad.vjp(bg.scaled, 1.5)[1](1.0) == (9.0,)
    assert srcad.jvp(bg.scaled, (1.5,), (1.0,), backend="interpret") == (6.75, 9.0)
    assert srcad.interpret(bg.scaled, 1.5) == 6.75
    bg.SCALE = 2.0  # back to the first value (a new float object): the first code again
    assert (f(1.5), g(1.5)) == (4.5, 6.0)
    bg.SCALE = 2  # an int now: other types, other code
    assert (f(1.5), g(1.5)) == (4.5, 6.0)


def test_changed_global_with_array_arguments(restore_globals):
    x = np.array([1.0, 2.0])
    g = srcad.grad(bg.scaled_array)
    np.testing.assert_array_equal(g(x), 4.0 * x)
    bg.SCALE = 0.5
    np.testing.assert_array_equal(g(x), x)
    assert srcad.differentiate(bg.scaled_array)(x) == 2.5


def test_changed_global_read_by_a_helper_and_a_redefined_helper(restore_globals):
    g = srcad.grad(bg.via_helper)
    assert g(1.0) == 2.0
    bg.SCALE = 5.0
    assert g(1.0) == 5.0
    bg.helper = lambda x: x * x  # a lambda: refused, located at the call
    with pytest.raises(srcad.UnsupportedCallError):
        g(1.0)

    def helper(x):
        return -x
    bg.helper = helper  # a redefined helper (a notebook cell rerun)
    assert g(1.0) == -1.0


def test_changed_int_and_tuple_globals(restore_globals):
    g = srcad.grad(bg.powered)
    assert g(2.0) == 2 * 2.0 + 2.0
    bg.POWER, bg.OFFSETS = 3, (0.0, -1.0)
    assert g(2.0) == 3 * 4.0 - 1.0
    assert srcad.differentiate(bg.powered)(2.0) == 8.0 - 2.0


def test_changed_attribute_of_a_global_object(restore_globals):
    g = srcad.grad(bg.via_attribute)
    assert g(1.0) == 3.0
    bg.cfg.gain = 4.0
    assert g(1.0) == 4.0
    bg.cfg = bg.Config()  # a new object, gain from the class
    assert g(1.0) == 3.0


def test_rebound_closure_cell():
    inner, rebind = bg.make_closure(2.0)
    g = srcad.grad(inner)
    f = srcad.differentiate(inner)
    assert (g(1.0), f(1.0)) == (4.0, 2.0)
    rebind(5.0)
    assert (g(1.0), f(1.0)) == (10.0, 5.0)
    assert srcad.vjp(inner, 1.0)[1](1.0) == (10.0,)


def test_global_array_is_a_located_error():
    # an array may change in place: srcad does not fold it (pass it as an argument)
    with pytest.raises(srcad.SrcadError, match=r"WEIGHTS") as info:
        srcad.grad(bg.weighted)(np.ones(2))
    assert info.value.loc is not None and "argument" in info.value.hint


def test_deleted_global_is_a_located_name_error(restore_globals):
    g = srcad.grad(bg.scaled)
    assert g(1.0) == 4.0
    del bg.SCALE
    with pytest.raises(srcad.SrcadNameError, match="SCALE") as info:
        g(1.0)
    assert info.value.loc is not None


def test_unchanged_values_never_rebuild(monkeypatch, restore_globals):
    # a method of srcad's own objects (x[mask].sum), a property giving an equal new float per
    # read: checked by value, so the code is built once
    lowered = []
    real = srcad.api.lower_function
    monkeypatch.setattr(srcad.api, "lower_function",
                        lambda *a, **k: lowered.append(1) or real(*a, **k))
    x = np.array([1.0, -2.0, 3.0])
    d = srcad.differentiate(bg.reads_every_kind)
    for _ in range(3):
        assert d(x) == bg.reads_every_kind(x)
        np.testing.assert_array_equal(d.grad(x), [6.0, 4.0, 6.0])  # 2 [x > 0] + 4
    assert len(lowered) == 1
    bg.holder.k = 1.0
    np.testing.assert_array_equal(d.grad(x), [4.0, 2.0, 4.0])
