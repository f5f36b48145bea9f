"""Fused loop nests (srcad/codegen/fuse.py): elementwise chains and the reductions consuming
them compile to one loop behind a shape guard, and agree with the unfused NumPy statements
(the guard's fallback), the interpreter and finite differences, broadcasting included."""
import zlib

import numpy as np
import pytest

import srcad
import srcad.codegen.rt
from srcad.codegen import pysource
from srcad.testing import check_grads, nrt_allocations

SHAPES = [(3,), (2, 3), (1, 3), (2, 1), ()]


def _arg(rng, shape, lo=-2.0, hi=2.0):
    v = rng.uniform(lo, hi, size=shape)
    return float(v) if shape == () else v


def chain(a, b):
    t = np.tanh(a * b + 0.5) - np.exp(-a * a) * b
    return np.sum(t * t + np.log1p(np.exp(-np.abs(t))))


def select_chain(a, b):
    m = np.maximum(a, b) * np.minimum(a, 0.3)
    return np.sum(np.abs(m - np.sin(b) * a) * m) + np.mean(np.maximum(m, 0.0))


def axis_sums(a, b):
    t = np.exp(0.1 * a) * b + a
    return np.sum(np.sum(t * t, axis=-1) * 2.0) + np.sum(np.sum(t, axis=0, keepdims=True))


def softmax_like(a, b):
    z = a * b + a
    s = z - np.max(z, axis=-1, keepdims=True)
    return -np.sum(s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True)))


def logreg(w, b, X, y):
    m = -y * (X @ w + b)
    return np.mean(np.maximum(m, 0.0) + np.log1p(np.exp(-np.abs(m))))


def _interpret_grad(f, args, argnums):
    _, pullback = srcad.vjp(f, *args, backend="interpret")
    ct = pullback(1.0)
    return tuple(ct[i] for i in argnums)


# Every shape pair compiles four functions (~10 s): the default run keeps one pair per
# broadcasting situation, the rest run with -m slow.
_SLOW = pytest.mark.slow
_PAIRS = [((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)),
          pytest.param((2, 3), (2, 3), marks=_SLOW), pytest.param((2, 3), (1, 3), marks=_SLOW),
          pytest.param((3,), (), marks=_SLOW), pytest.param((2, 1), (2, 3), marks=_SLOW)]


@pytest.mark.parametrize("f", [chain, select_chain])
@pytest.mark.parametrize("sa,sb", _PAIRS)
def test_chains_match_interpreter_and_fd(f, sa, sb):
    rng = np.random.default_rng(zlib.crc32(repr((f.__name__, sa, sb)).encode()))
    a, b = _arg(rng, sa), _arg(rng, sb)
    assert srcad.differentiate(f)(a, b) == pytest.approx(f(a, b), rel=1e-12)
    g = srcad.grad(f, argnums=(0, 1))(a, b)
    gi = _interpret_grad(f, (a, b), (0, 1))
    for x, y in zip(g, gi):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-13)
    check_grads(f, (a, b), modes=("fwd", "rev"))


@pytest.mark.parametrize("f", [axis_sums, softmax_like])
@pytest.mark.parametrize("sa,sb", [((4, 3), (4, 1)), pytest.param((2, 3), (2, 3), marks=_SLOW),
                                   pytest.param((2, 3), (3,), marks=_SLOW)])
def test_axis_reductions(f, sa, sb):
    rng = np.random.default_rng(zlib.crc32(repr((f.__name__, sa, sb)).encode()))
    a, b = _arg(rng, sa), _arg(rng, sb)
    assert srcad.differentiate(f)(a, b) == pytest.approx(f(a, b), rel=1e-12)
    g = srcad.grad(f, argnums=(0, 1))(a, b)
    for x, y in zip(g, _interpret_grad(f, (a, b), (0, 1))):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-13)
    check_grads(f, (a, b), modes=("rev",))


def _logreg_args(n=200, d=7):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = np.where(rng.standard_normal(n) > 0, 1.0, -1.0)
    return rng.standard_normal(d) * 0.3, 0.1, X, y


def test_logreg_gradient_is_one_fused_loop():
    args = _logreg_args()
    src = srcad.show(logreg, *args, mode="reverse", argnums=(0, 1))
    code = src.split("# --- generated Python ---")[1]
    assert code.count("# fused loop") == 1
    fused, fallback = code.split("    else:\n", 1)
    assert "for _i0 in range(_n0):" in fused
    # one pass over X: X @ w and X.T @ r stream its rows inside the loop, BLAS only in the
    # fallback (shapes the guard does not accept)
    assert "_rt.rowdot(X, _i0, w)" in fused and "_rt.axpy_row(" in fused
    assert "np.dot(" not in fused and "np.dot(X, w)" in fallback
    g = srcad.grad(logreg, argnums=(0, 1))(*args)
    for x, y in zip(g, _interpret_grad(logreg, args, (0, 1))):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-14)
    check_grads(logreg, args, modes=("rev",))


def _allocations(fn, args):
    fn(*args)  # compile first
    return nrt_allocations(fn, args)


def test_logreg_allocations_drop(monkeypatch):
    args = _logreg_args()
    fused = _allocations(srcad.grad(logreg, argnums=(0, 1)), args)
    monkeypatch.setattr(pysource, "FUSE", False)

    def logreg_unfused(w, b, X, y):  # a new function: nothing cached from the fused build
        m = -y * (X @ w + b)
        return np.mean(np.maximum(m, 0.0) + np.log1p(np.exp(-np.abs(m))))
    unfused = _allocations(srcad.grad(logreg_unfused, argnums=(0, 1)), args)
    assert fused <= 1 < 4 < unfused  # the gradient of w is the only array allocated


def tanh_feedback(w, X):
    u = np.tanh(w)
    z = X @ u  # reads all of u: u cannot be computed in the same loop as z
    return np.sum(z * u + np.sin(X @ w))


def weighted_rows(r, X):
    e = np.exp(r)
    return np.sum(np.sin(e @ X)) + np.sum(np.cos(X.T @ (e * r)))


@pytest.mark.parametrize("f,shapes", [(tanh_feedback, [(5,), (5, 5)]),
                                      (weighted_rows, [(6,), (6, 3)]),
                                      (logreg, [(4,), (), (9, 4), (9,)])])
def test_row_streamed_matrix_vector_products(f, shapes):
    """X @ w, X.T @ r and r @ X inside fused loops: values, both modes vs FD and the
    interpreter; u = tanh(w) feeding X @ u is computed before the loop (the guard cuts)."""
    rng = np.random.default_rng(3)
    args = tuple(_arg(rng, s) for s in shapes)
    code = srcad.show(f, *args, mode="reverse").split("# --- generated Python ---")[1]
    assert "_rt.rowdot(" in code or "_rt.axpy_row(" in code
    assert srcad.differentiate(f)(*args) == pytest.approx(f(*args), rel=1e-12)
    pos = tuple(i for i, a in enumerate(args) if np.ndim(a))
    g = srcad.grad(f, argnums=pos)(*args)
    for x, y in zip(g, _interpret_grad(f, args, pos)):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-13)
    check_grads(f, args, modes=("fwd", "rev"))


def test_row_streaming_guard_keeps_numpy_errors():
    """Mismatched X @ w: the guard fails and np.dot raises, as in NumPy (no reads past
    the row)."""
    w, b, X, y = _logreg_args()
    with pytest.raises(ValueError):
        srcad.grad(logreg, argnums=(0, 1))(w[:-1], b, X, y)


def test_guard_fallback_keeps_numpy_broadcasting():
    """(2, 1) against (1, 3): no operand has the loop shape, the NumPy statements run."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 1)), rng.standard_normal((1, 3))

    def f(a, b):
        return np.sum(np.exp(a + b) * a - b)
    assert srcad.differentiate(f)(a, b) == pytest.approx(f(a, b), rel=1e-12)
    check_grads(f, (a, b), modes=("fwd", "rev"))


def test_fusion_inside_loops_and_branches():
    def f(x, y):
        s = 0.0
        acc = np.zeros_like(x)
        for i in range(3):
            t = np.sin(x * i + y) * x
            acc = acc + t * t
            if s > 1.0:
                s = s + np.sum(np.exp(-t))
            else:
                s = s + np.sum(t) * 0.5
        return s + np.sum(acc * y)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((2, 3)), rng.standard_normal(3)
    assert srcad.differentiate(f)(x, y) == pytest.approx(f(x, y), rel=1e-12)
    check_grads(f, (x, y), modes=("fwd", "rev"))


def test_unfused_function_compiles_only_when_a_guard_fails():
    """The NumPy statements of fused groups live in a second function, compiled on demand:
    shapes the loops index never compile it; (2, 1) against (1, 3) does, once, and every later
    call with those types uses it (values and gradients as NumPy's)."""
    from numba.core.runtime import _nrt_python as nrt
    from numba.core.runtime import rtsys

    from srcad.api import Spec, as_differentiable

    def fallback_probe(a, b):  # its own name and body: a module no other test loads
        return np.sum(np.exp(a + b) * a - 0.5 * b)
    f = fallback_probe
    rng = np.random.default_rng(4)
    d = as_differentiable(f)
    spec = Spec("grad", (0, 1))
    fits = (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    fn = d.compiled(spec, fits)
    fn(*fits)
    assert fn.fused.signatures and not fn.unfused.signatures
    odd = (rng.standard_normal((2, 1)), rng.standard_normal((1, 3)))
    assert d.compiled(spec, odd) is fn  # same types: the same compiled function
    g = fn(*odd)
    assert fn.unfused.signatures
    check_grads(f, odd, modes=("fwd", "rev"))
    for x, y in zip(g, _interpret_grad(f, odd, (0, 1))):
        np.testing.assert_allclose(x, y, rtol=1e-12)
    # the guard raises with arrays alive: they are freed
    was_on = nrt.memsys_stats_enabled()
    nrt.memsys_enable_stats()
    try:
        s0 = rtsys.get_allocation_stats()
        for _ in range(5):
            with pytest.raises(srcad.codegen.rt.ShapeFallback):
                fn.fused(*odd)
        s1 = rtsys.get_allocation_stats()
    finally:
        if not was_on:
            nrt.memsys_disable_stats()
    assert s1.alloc - s0.alloc == s1.free - s0.free > 0


def test_fused_sums_are_reassociable_and_accurate():
    """Sums accumulate through rt.fadd (the add alone may be reassociated, so the loop
    vectorizes); the result stays as accurate as NumPy's pairwise sum against math.fsum."""
    import math

    def energy(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    x = np.random.default_rng(5).uniform(-2.0, 2.0, 100_001)
    code = srcad.show(energy, x, mode="primal").split("# --- generated Python ---")[1]
    assert "_rt.fadd(" in code
    terms = 100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2
    exact = math.fsum(terms)
    assert abs(srcad.differentiate(energy)(x) - exact) <= 5e-15 * exact
    assert abs(np.sum(terms) - exact) <= 5e-15 * exact
    check_grads(energy, (x[:50],), modes=("rev",))


@pytest.mark.parametrize("f", [chain, axis_sums, softmax_like])
def test_float32_loops_fuse_and_stay_float32(f):
    """float32 arrays get fused loops too (transcendentals in float64 through vmath, stores
    round to float32, sums accumulate in float64): values as NumPy's float32 evaluation,
    gradients float32 and equal to the float64 gradient to float32 precision."""
    rng = np.random.default_rng(zlib.crc32(f.__name__.encode()))  # the same inputs every run
    a = rng.uniform(-2.0, 2.0, (6, 5)).astype(np.float32)
    b = rng.uniform(-2.0, 2.0, (5,)).astype(np.float32)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)  # the same points in float64
    code = srcad.show(f, a, b, mode="reverse").split("# --- generated Python ---")[1]
    assert "# fused loop" in code and "np.float32)" in code
    exact = f(a64, b64)
    assert abs(srcad.differentiate(f)(a, b) - exact) <= 1e-5 * max(1.0, abs(exact))
    g = srcad.grad(f, argnums=(0, 1))(a, b)
    assert all(x.dtype == np.float32 for x in g)
    g64 = srcad.grad(f, argnums=(0, 1))(a64, b64)
    gi = _interpret_grad(f, (a, b), (0, 1))
    for x, y, z in zip(g, g64, gi):
        scale = np.max(np.abs(y))
        assert np.max(np.abs(x - y)) <= 2e-5 * scale
        assert np.max(np.abs(x - z)) <= 2e-5 * scale
