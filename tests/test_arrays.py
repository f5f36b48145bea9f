"""Array code in both modes against finite differences: broadcasting sweeps over every
elementwise primitive, reductions over every axis form, and a corpus of array functions.

The sweeps run the derivative IR in srcad's NumPy interpreter (``backend="interpret"``: the
rules are what they check, and compiling hundreds of variants would take minutes); one case per
primitive family, and the whole corpus, also go through Numba."""
import itertools
import zlib

import numpy as np
import pytest

import srcad
import tests.array_funcs as af
from srcad.primitives import REGISTRY
from srcad.testing import check_grads

SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1)]
_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
           "pow": np.power, "arctan2": np.arctan2, "hypot": np.hypot, "maximum": np.maximum,
           "minimum": np.minimum}
# elementwise unary primitives: shape-changing ones carry extra["test_shape"]
_UNARY = {name: getattr(np, name) for name, p in REGISTRY.items()
          if p.nin == 1 and p.differentiable and p.domain and hasattr(np, name)
          and "test_shape" not in p.extra and name != "convert"}


def _sample(rng, domain, shape):
    lo, hi = domain[0] if isinstance(domain, list) else domain
    v = rng.uniform(lo, hi, size=shape)
    return float(v) if shape == () else v


def _separated(a, b):
    """maximum/minimum need operands that never tie (kinks)."""
    return np.min(np.abs(np.subtract(a, b))) > 1e-3


@pytest.mark.parametrize("name", sorted(_BINARY))
@pytest.mark.parametrize("sa,sb", [p for p in itertools.product(SHAPES, SHAPES)
                                   if p != ((), ())])
def test_binary_broadcasting(name, sa, sb):
    rng = np.random.default_rng(zlib.crc32(repr((name, sa, sb)).encode()))
    dom = REGISTRY[name].domain
    a, b = _sample(rng, dom[0], sa), _sample(rng, dom[1], sb)
    if name in ("maximum", "minimum") and not _separated(a, b):
        pytest.skip("operands tie")  # never happens with these domains; kept as a guard
    f = af.make_binary(_BINARY[name])
    assert srcad.interpret(f, a, b) == pytest.approx(f(a, b), rel=1e-12)
    check_grads(f, (a, b), modes=("fwd", "rev"), backend="interpret")
    if (sa, sb) == ((2, 3), (3,)):  # one compiled case per primitive
        assert srcad.differentiate(f)(a, b) == pytest.approx(f(a, b), rel=1e-12)
        check_grads(f, (a, b), modes=("rev",))


@pytest.mark.parametrize("name", sorted(_UNARY))
@pytest.mark.parametrize("shape", [(3,), (2, 3)])
def test_unary_on_arrays(name, shape):
    rng = np.random.default_rng(zlib.crc32(repr((name, shape)).encode()))
    a = _sample(rng, REGISTRY[name].domain[0], shape)
    f = af.make_unary(_UNARY[name])
    assert srcad.interpret(f, a) == pytest.approx(f(a), rel=1e-12)
    check_grads(f, (a,), backend="interpret")
    if shape == (2, 3) and name in ("exp", "tanh", "log", "sqrt", "abs"):
        check_grads(f, (a,), modes=("rev",))


@pytest.mark.parametrize("red", [np.sum, np.mean, np.max, np.min, np.var, np.std])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, False), (-1, True),
                                           (0, True), ((0, 1), False)])
def test_reductions(red, axis, keepdims):
    x = np.random.default_rng(3).standard_normal((3, 4))
    f = af.make_reduction(red, axis, keepdims)
    assert srcad.interpret(f, x) == pytest.approx(f(x), rel=1e-12)
    check_grads(f, (x,), backend="interpret")
    # compiled: every reduction over all axes, and the axis forms for sum and max
    if axis is None or (red in (np.sum, np.max) and (axis, keepdims) in ((1, False), (0, True))):
        assert srcad.differentiate(f)(x) == pytest.approx(f(x), rel=1e-12)
        check_grads(f, (x,), modes=("rev",))


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = np.sign(rng.standard_normal(30))
    W1, b1 = rng.standard_normal((4, 5)) * 0.5, rng.standard_normal(5) * 0.1
    W2, b2 = rng.standard_normal((5, 3)) * 0.5, rng.standard_normal(3) * 0.1
    Y = np.eye(3)[rng.integers(0, 3, 30)]
    return rng, X, y, W1, b1, W2, b2, Y


def _corpus():
    rng, X, y, W1, b1, W2, b2, Y = _data()
    v3 = rng.standard_normal(3)
    return [
        (af.logistic_regression, (rng.standard_normal(4), 0.2, X, y)),
        (af.softmax_xent, (W1, b1, W2, b2, X, Y)),
        (af.bilinear, (v3, rng.standard_normal((3, 3)), rng.standard_normal(3))),
        (af.loop_dot, (v3, rng.standard_normal(3))),
        (af.running_sum_loop, (rng.standard_normal(7),)),
        (af.rosenbrock, (rng.uniform(-1, 1, 10),)),
        (af.gmm_loglik, (rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(6))),
        (af.matrix_rows, (rng.standard_normal((4, 3)), v3)),
        (af.var_std, (rng.standard_normal((3, 4)),)),
        (af.branchy, (rng.standard_normal(5), 0.3)),
        (af.branchy, (rng.standard_normal(5), -10.0)),
        (af.linalg_mix, (rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal(3))),
        (af.shapes_mix, (rng.standard_normal(4), rng.standard_normal(2))),
    ]


@pytest.mark.parametrize("k", range(len(_corpus())))
def test_array_corpus(k):
    f, args = _corpus()[k]
    assert srcad.differentiate(f)(*args) == pytest.approx(f(*args), rel=1e-10)
    assert srcad.interpret(f, *args) == pytest.approx(f(*args), rel=1e-10)
    check_grads(f, args, modes=("fwd", "rev"))


def test_float32_arrays_stay_float32():
    x = np.linspace(-1, 1, 5).astype(np.float32)
    g = srcad.grad(af.float32_sum)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2.0 * (1 - np.tanh(x) ** 2), rtol=1e-5)


def test_gradient_does_not_modify_arguments():
    rng, X, y, *_ = _data()
    w = rng.standard_normal(4)
    before = (w.copy(), X.copy(), y.copy())
    srcad.grad(af.logistic_regression, argnums=(0, 1))(w, 0.2, X, y)
    for a, b in zip(before, (w, X, y)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["loop_dot", "rosenbrock", "running_sum_loop", "matrix_rows"])
def test_hessian_vector_products_on_arrays(name):
    """Forward over reverse through array reads in loops (in-place adjoint buffers)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(4)
    args = {"loop_dot": (x, 0.5 * x), "rosenbrock": (x,), "running_sum_loop": (x,),
            "matrix_rows": (rng.standard_normal((3, 4)), x)}[name]
    f = getattr(af, name)
    check_grads(f, args, order=2, backend="interpret")
    if name == "rosenbrock":
        check_grads(f, args, order=2)


def _where_sqrt(x):
    return np.sum(np.where(x > 0, np.sqrt(x), 0.0))


def _where_log(x):
    return np.sum(np.where(x > 0, np.log(x) * x, -x))


def _where_arcsin(x):
    y = np.where(x < 1.0, np.arcsin(x), x)
    return np.sum(y * y)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy evaluating the untaken side
@pytest.mark.parametrize("backend", ["numba", "interpret"])
def test_where_on_arrays_keeps_nan_of_the_untaken_side_out(backend):
    """np.where(x > 0, np.sqrt(x), 0) at x = 0: the untaken side's derivative is inf (and NaN
    for negative x); the gradient must be the derivative of the branch taken (JAX's
    "double where" trap)."""
    x = np.array([-1.0, 0.0, 0.25, 4.0])
    g = srcad.vjp(_where_sqrt, x, backend=backend)[1](1.0)[0]
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.5 / np.sqrt(0.25), 0.5 / np.sqrt(4.0)])
    g = srcad.vjp(_where_log, x, backend=backend)[1](1.0)[0]
    np.testing.assert_allclose(g, [-1.0, -1.0, np.log(0.25) + 1.0, np.log(4.0) + 1.0])
    x = np.array([0.5, 1.0, 2.0])
    g = srcad.vjp(_where_arcsin, x, backend=backend)[1](1.0)[0]
    np.testing.assert_allclose(g, [2 * np.arcsin(0.5) / np.sqrt(0.75), 2.0, 4.0])
    for f, pt in ((_where_sqrt, np.array([-1.0, 0.3, 2.0])),
                  (_where_log, np.array([-0.7, 0.3, 2.0]))):
        check_grads(f, (pt,), backend=backend)


def _log_sigmoid(z):
    return np.sum(np.minimum(z, 0.0) - np.log1p(np.exp(-np.abs(z))))


def _logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@pytest.mark.parametrize("backend", ["numba", "interpret"])
def test_numerically_careful_code_differentiates_without_overflow(backend):
    """Stable log-sigmoid and max-shifted log-sum-exp at arguments where the naive forms
    overflow: gradients are finite and equal the analytic ones (sigmoid(-z), softmax(x))."""
    z = np.array([-800.0, -1.5, 0.5, 800.0])
    with np.errstate(over="raise", invalid="raise"):
        g = srcad.vjp(_log_sigmoid, z, backend=backend)[1](1.0)[0]
    expected = 1.0 / (1.0 + np.exp(np.clip(z, -700, 700)))
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-300)
    x = np.array([1000.0, 999.0, -1000.0])
    g = srcad.vjp(_logsumexp, x, backend=backend)[1](1.0)[0]
    e = np.exp(x - x.max())
    np.testing.assert_allclose(g, e / e.sum(), rtol=1e-12, atol=1e-15)
    _, t = srcad.jvp(_logsumexp, (x,), (np.array([1.0, 2.0, 3.0]),))
    np.testing.assert_allclose(t, np.dot(e / e.sum(), [1.0, 2.0, 3.0]), rtol=1e-12)


@pytest.mark.slow  # Numba's parallel=True compiles slowly (~15 s)
def test_parallel_option_gives_the_same_gradients():
    """differentiate(..., parallel=True) compiles with numba's parallel=True (array statements
    and fused loops run on all cores); derivatives are those of the serial build."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((64, 5)), (rng.random(64) > 0.5).astype(float)
    w = 0.1 * rng.standard_normal(5)
    serial = srcad.differentiate(af.logistic_regression)
    par = srcad.differentiate(af.logistic_regression, parallel=True)
    src = srcad.show(par, w, 0.2, X, y)
    assert "parallel=True" in src and "numba.prange(" in src
    for a, b in zip(serial.grad(w, 0.2, X, y), par.grad(w, 0.2, X, y)):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert np.isclose(serial(w, 0.2, X, y), par(w, 0.2, X, y), rtol=1e-12)
