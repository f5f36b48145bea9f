"""Reverse mode through loops: no unrolling, taping, long loops, checkpointing."""
import math

import pytest

import srcad
from srcad.api import Spec, as_differentiable, build_ir
from srcad.ir.types import F64, I64
from tests.fd import partial


def oscillator(k, c, x0, v0, n):
    """RK4 for x'' = -k sin(x) - c x' (the benchmark's workload)."""
    x = x0
    v = v0
    dt = 0.01
    for i in range(n):
        k1x = v
        k1v = -k * math.sin(x) - c * v
        k2x = v + 0.5 * dt * k1v
        k2v = -k * math.sin(x + 0.5 * dt * k1x) - c * k2x
        k3x = v + 0.5 * dt * k2v
        k3v = -k * math.sin(x + 0.5 * dt * k2x) - c * k3x
        k4x = v + dt * k3v
        k4v = -k * math.sin(x + dt * k3x) - c * k4x
        x = x + dt / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        v = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
    return x * x + v * v


def long_sum(x, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x + 1e-5 * i) * 1e-5
    return s


def newton_sqrt(a):
    """Newton iterations until converged: a data-dependent while loop."""
    y = a
    it = 0
    while abs(y * y - a) > 1e-12 * a:
        y = 0.5 * (y + a / y)
        it += 1
    return y


def slow_while(x):
    """Thousands of iterations of a data-dependent while loop."""
    t = 0.0
    y = x
    while t < 30.0:
        y = y + 0.001 * math.cos(y + t)
        t = t + 0.001 * (1.0 + 0.1 * math.sin(y))
    return y


def _fd(f, args, i):
    return float(partial(f, args, i)[0])


ARGS = (1.5, 0.1, 1.0, 0.5)


def test_oscillator_gradient_matches_fd():
    g = srcad.grad(oscillator, argnums=(0, 1, 2, 3))(*ARGS, 200)
    for i in range(4):
        assert g[i] == pytest.approx(_fd(oscillator, ARGS + (200,), i), rel=1e-6, abs=1e-9)


def test_loops_are_not_unrolled():
    d = as_differentiable(oscillator)
    for n_types in [(F64, F64, F64, F64, I64)]:
        ir = build_ir(d, Spec("grad", (0, 1, 2, 3)), n_types).ir
        text = str(ir)
        # one primal loop and one adjoint loop, a bounded number of ops whatever n is
        assert text.count("= for ") == 2
        assert text.count("sin ") == 4
        assert len(text.splitlines()) < 200


def test_tape_preallocated_and_checkpointing_identical():
    n = 10**6
    args = (1.5, 0.1, 1.0, 0.5, n)
    plain = srcad.tape_size(oscillator, *args)
    ckpt = srcad.tape_size(oscillator, *args, checkpoint=True)
    # 6 doubles per step (x, v and the 4 sines) are taped; checkpointing keeps ~sqrt(n) states
    assert plain >= 6 * 8 * n
    assert ckpt < 200_000
    g_plain = srcad.grad(oscillator, argnums=(0, 1, 2, 3))(*args[:4], 10**4)
    g_ckpt = srcad.grad(srcad.differentiate(oscillator, checkpoint=True),
                        argnums=(0, 1, 2, 3))(*args[:4], 10**4)
    assert g_plain == g_ckpt  # bit-identical: same operations in the same order


@pytest.mark.parametrize("every", [1, 7, 1000, 5000])
def test_checkpoint_marker_segment_lengths(every):
    import tests.checkpointed as m
    f = srcad.differentiate(m.make(every))
    n = 1000
    g = f.grad(0.7, n)[0]
    assert g == srcad.grad(m.plain)(0.7, n)
    assert g == pytest.approx(_fd(m.plain, (0.7, n), 0), rel=1e-7)


def test_hundred_thousand_iterations():
    n = 10**5
    g = srcad.grad(long_sum)(0.3, n)
    assert g == pytest.approx(_fd(long_sum, (0.3, n), 0), rel=1e-7)


def test_while_newton():
    for a in (0.5, 2.0, 50.0):
        g = srcad.grad(newton_sqrt)(a)
        assert g == pytest.approx(0.5 / math.sqrt(a), rel=1e-9)
        assert srcad.jvp(newton_sqrt, (a,), (1.0,))[1] == pytest.approx(g, rel=1e-12)


def test_while_thousands_of_iterations():
    g = srcad.grad(slow_while)(0.4)
    assert g == pytest.approx(_fd(slow_while, (0.4,), 0), rel=1e-6)
    assert srcad.jvp(slow_while, (0.4,), (1.0,))[1] == pytest.approx(g, rel=1e-10)
    assert srcad.tape_size(slow_while, 0.4) > 8 * 25000  # grown geometrically, not preset


def test_hessian_through_loops():
    srcad.testing.check_grads(oscillator, (1.5, 0.1, 1.0, 0.5, 30), order=2)
    srcad.testing.check_grads(newton_sqrt, (3.0,), order=2)
