"""Semantics of the public API, checked against hand derivations and central finite
differences (``fd.py``): the decorator, argument selection (``wrt``, ``argnums``), ``has_aux``,
keyword arguments and defaults, ``jvp``/``vjp`` with tuple outputs, Jacobians, Hessians,
``check_grads``, ``show``, ``stop_gradient`` and the on-disk cache of compiled code.

Functions are defined once at module level so that every test reuses their compiled code.
"""

from __future__ import annotations

import inspect
import math
import os
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import srcad
import srcad.testing
from srcad import differentiate
from tests import fd

RTOL, ATOL = 1e-12, 1e-14  # srcad vs hand derivations (same formulas, different rounding)
FD_RTOL, FD_ATOL = 1e-6, 1e-8
REPO = Path(__file__).resolve().parent.parent


def close(actual, expected, rtol: float = RTOL, atol: float = ATOL, what: str = "") -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64),
        rtol=rtol, atol=atol, err_msg=what,
    )


# --------------------------------------------------------------------------- functions


def f_log_sin(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def df_log_sin(x1, x2):
    return 1.0 / x1 + x2, x1 - math.cos(x2)


def f_power_loop(x, n):
    acc = 1.0
    for i in range(n):
        acc = acc * x + 0.5 * i
    return acc


def f_square(x):
    return x * x * x


def f_kw(x, y=2.0, *, scale=0.5):
    return scale * x * x * y + y


def df_kw(x, y, scale):
    """(d/dx, d/dy, d/dscale) of f_kw."""
    return 2.0 * scale * x * y, scale * x * x + 1.0, x * x * y


def f_aux(x, y):
    v = x * x * y
    return v, x + y


def f_aux2(x, y):
    return math.exp(x) * y, x - y, x * y


def f_two_out(x, y):
    return x * math.sin(y), x * x + y * y * y


def jac_two_out(x, y):
    return ((math.sin(y), x * math.cos(y)), (2.0 * x, 3.0 * y * y))


def f_loop_energy(x, y, n):
    s = 0.0
    for i in range(n):
        t = x * (i + 1)
        if t > 1.0:
            s = s + math.sin(t) * y * y
        else:
            s = s + t * t * y
    return s + x * y


def f_stop(x):
    return x * srcad.stop_gradient(x * x)


def f_named(velocity, mass):
    momentum = mass * velocity
    energy = 0.5 * momentum * velocity
    return energy + math.sin(momentum)


def f_smooth(x, y):
    return math.sin(x) * math.exp(0.3 * y) + x * y * y


# decorator forms --------------------------------------------------------------------------


@differentiate
def dec_plain(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


@differentiate()
def dec_empty_call(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


@differentiate(wrt=("x1",))
def dec_wrt_names(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


@differentiate(wrt=1)
def dec_wrt_position(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


@differentiate(wrt="x2")
def dec_wrt_name(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


@differentiate(wrt=("x2", 0))
def dec_wrt_mixed(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


power_loop = differentiate(f_power_loop)
square = differentiate(f_square)
kw = differentiate(f_kw)

POINT = (2.0, 5.0)


# --------------------------------------------------------------------------- decorator


@pytest.mark.parametrize("f", [dec_plain, dec_empty_call], ids=["bare", "called"])
def test_decorator_forms(f) -> None:
    assert isinstance(f, srcad.Differentiable)
    assert f.__name__ == f.fn.__name__
    close(f(*POINT), f_log_sin(*POINT))
    g = f.grad(*POINT)
    assert isinstance(g, tuple) and len(g) == 2
    close(g, df_log_sin(*POINT))
    v, g2 = f.value_and_grad(*POINT)
    close(v, f_log_sin(*POINT))
    close(g2, g)


@pytest.mark.parametrize("args", [(2.0, 5.0), (0.3, -1.2), (7.5, 0.0)])
def test_call_equals_plain_function(args) -> None:
    assert dec_plain(*args) == pytest.approx(f_log_sin(*args), rel=1e-15, abs=0)
    assert type(dec_plain(*args)) is float


def test_call_with_int_argument_equals_plain_function() -> None:
    for n in (0, 1, 4):
        assert power_loop(1.5, n) == pytest.approx(f_power_loop(1.5, n), rel=1e-15)


def test_grad_all_arguments_gives_none_for_ints() -> None:
    x, n = 1.5, 4
    g = power_loop.grad(x, n)
    assert isinstance(g, tuple) and len(g) == 2
    assert g[1] is None
    # acc_{k+1} = acc_k * x + k/2 -> d acc_{k+1} = d acc_k * x + acc_k
    acc, dacc = 1.0, 0.0
    for i in range(n):
        acc, dacc = acc * x + 0.5 * i, dacc * x + acc
    close(g[0], dacc)
    value, g2 = power_loop.value_and_grad(x, n)
    close(value, acc)
    assert g2[1] is None and g2[0] == g[0]


def test_grad_one_parameter_is_bare() -> None:
    g = square.grad(1.5)
    assert not isinstance(g, tuple)
    close(g, 3.0 * 1.5 * 1.5)
    v, g2 = square.value_and_grad(1.5)
    close(v, 1.5**3)
    close(g2, g)


def test_wrt_names_tuple() -> None:
    g = dec_wrt_names.grad(*POINT)
    assert isinstance(g, tuple) and len(g) == 1
    close(g[0], df_log_sin(*POINT)[0])


def test_wrt_position_is_bare() -> None:
    g = dec_wrt_position.grad(*POINT)
    assert not isinstance(g, tuple)
    close(g, df_log_sin(*POINT)[1])


def test_wrt_name_is_bare() -> None:
    g = dec_wrt_name.grad(*POINT)
    assert not isinstance(g, tuple)
    close(g, df_log_sin(*POINT)[1])


def test_wrt_order_is_kept() -> None:
    g = dec_wrt_mixed.grad(*POINT)
    dx1, dx2 = df_log_sin(*POINT)
    close(g, (dx2, dx1))


# --------------------------------------------------------------------------- free grad


def test_grad_argnums_int_vs_tuple() -> None:
    dx1, dx2 = df_log_sin(*POINT)
    g0 = srcad.grad(f_log_sin)(*POINT)
    assert not isinstance(g0, tuple)
    close(g0, dx1)
    g1 = srcad.grad(f_log_sin, argnums=1)(*POINT)
    assert not isinstance(g1, tuple)
    close(g1, dx2)
    g_single = srcad.grad(f_log_sin, argnums=(0,))(*POINT)
    assert isinstance(g_single, tuple) and len(g_single) == 1
    close(g_single[0], dx1)
    close(srcad.grad(f_log_sin, argnums=(0, 1))(*POINT), (dx1, dx2))
    close(srcad.grad(f_log_sin, argnums=(1, 0))(*POINT), (dx2, dx1))
    close(srcad.grad(f_log_sin, argnums=[0, 1])(*POINT), (dx1, dx2))


def test_value_and_grad() -> None:
    v, g = srcad.value_and_grad(f_log_sin, argnums=(0, 1))(*POINT)
    close(v, f_log_sin(*POINT))
    close(g, df_log_sin(*POINT))


def test_grad_against_fd_many_points() -> None:
    g = srcad.grad(f_log_sin, argnums=(0, 1))
    for point in [(0.5, -2.0), (3.0, 0.1), (1.0, 4.0)]:
        close(g(*point), fd.jacobian(f_log_sin, point)[0], FD_RTOL, FD_ATOL, str(point))


# --------------------------------------------------------------------------- has_aux


def test_grad_has_aux_single() -> None:
    x, y = 1.5, -0.5
    g, aux = srcad.grad(f_aux, argnums=(0, 1), has_aux=True)(x, y)
    close(g, (2.0 * x * y, x * x))
    assert aux == pytest.approx(x + y, rel=1e-15)
    g0, aux0 = srcad.grad(f_aux, has_aux=True)(x, y)
    close(g0, 2.0 * x * y)
    assert aux0 == aux


def test_value_and_grad_has_aux_single() -> None:
    x, y = 1.5, -0.5
    (v, aux), g = srcad.value_and_grad(f_aux, argnums=(0, 1), has_aux=True)(x, y)
    close(v, x * x * y)
    close(aux, x + y)
    close(g, (2.0 * x * y, x * x))


def test_has_aux_several() -> None:
    x, y = 0.4, 2.0
    g, aux = srcad.grad(f_aux2, argnums=(0, 1), has_aux=True)(x, y)
    close(g, (math.exp(x) * y, math.exp(x)))
    assert isinstance(aux, tuple) and len(aux) == 2
    close(aux, (x - y, x * y))
    (v, aux2), g2 = srcad.value_and_grad(f_aux2, argnums=(0, 1), has_aux=True)(x, y)
    close(v, math.exp(x) * y)
    close(aux2, aux)
    close(g2, g)


def test_has_aux_requires_tuple() -> None:
    with pytest.raises(srcad.SrcadTypeError):
        srcad.grad(f_square, has_aux=True)(1.5)


# --------------------------------------------------------------------------- keywords, defaults


def test_keywords_and_defaults_at_call_time() -> None:
    close(kw(1.5), f_kw(1.5))
    close(kw(1.5, 3.0), f_kw(1.5, 3.0))
    close(kw(1.5, scale=2.0), f_kw(1.5, scale=2.0))
    close(kw(x=1.5, y=-1.0, scale=2.0), f_kw(1.5, -1.0, scale=2.0))
    close(kw(y=-1.0, x=1.5), f_kw(1.5, -1.0))
    with pytest.raises(TypeError):
        kw(1.5, 2.0, 3.0)  # scale is keyword-only


def test_grad_with_keywords_and_defaults() -> None:
    x = 1.5
    dx, dy, dscale = df_kw(x, 2.0, 0.5)
    close(srcad.grad(f_kw)(x), dx)
    close(srcad.grad(f_kw)(x, scale=3.0), df_kw(x, 2.0, 3.0)[0])
    close(srcad.grad(f_kw, argnums=(0, 1))(x, y=-1.0), df_kw(x, -1.0, 0.5)[:2])
    g = kw.grad(x=x, y=2.0, scale=0.5)
    assert isinstance(g, tuple) and len(g) == 3
    close(g, (dx, dy, dscale))
    v, g2 = kw.value_and_grad(x, 2.0, scale=0.5)
    close(v, f_kw(x))
    close(g2, g)


def test_grad_with_respect_to_keyword_only_parameter() -> None:
    close(srcad.grad(f_kw, argnums=2)(1.5, 2.0, scale=0.25), df_kw(1.5, 2.0, 0.25)[2])


# --------------------------------------------------------------------------- jvp / vjp


def test_jvp_scalar_output() -> None:
    out, t = srcad.jvp(f_log_sin, POINT, (1.0, 0.0))
    close(out, f_log_sin(*POINT))
    close(t, df_log_sin(*POINT)[0])
    out, t = srcad.jvp(f_log_sin, POINT, (0.3, -2.0))
    dx1, dx2 = df_log_sin(*POINT)
    close(t, 0.3 * dx1 - 2.0 * dx2)


def test_jvp_tuple_output() -> None:
    x, y = 0.7, -1.3
    out, t = srcad.jvp(f_two_out, (x, y), (0.5, 2.0))
    assert isinstance(out, tuple) and isinstance(t, tuple) and len(t) == 2
    close(out, f_two_out(x, y))
    jac = np.array(jac_two_out(x, y))
    close(t, jac @ np.array([0.5, 2.0]))


def test_vjp_tuple_output() -> None:
    x, y = 0.7, -1.3
    out, pullback = srcad.vjp(f_two_out, x, y)
    close(out, f_two_out(x, y))
    ct = (1.5, -0.25)
    g = pullback(ct)
    assert isinstance(g, tuple) and len(g) == 2
    close(g, np.array(ct) @ np.array(jac_two_out(x, y)))
    # the pullback can be called again with another cotangent
    close(pullback((0.0, 1.0)), jac_two_out(x, y)[1])
    with pytest.raises(TypeError):
        pullback(1.0)


def test_vjp_with_int_argument() -> None:
    out, pullback = srcad.vjp(f_power_loop, 1.5, 3)
    close(out, f_power_loop(1.5, 3))
    g = pullback(1.0)
    assert g[1] is None
    close(g[0], fd.partial(f_power_loop, (1.5, 3), 0)[0], FD_RTOL, FD_ATOL)


def test_jvp_vjp_agree_with_fd() -> None:
    point = (0.7, -1.3)
    jac = fd.jacobian(f_two_out, point)
    _, pullback = srcad.vjp(f_two_out, *point)
    for k in range(2):
        ct = tuple(1.0 if j == k else 0.0 for j in range(2))
        close(pullback(ct), jac[k], FD_RTOL, FD_ATOL)
        tangents = tuple(1.0 if j == k else 0.0 for j in range(2))
        close(srcad.jvp(f_two_out, point, tangents)[1], jac[:, k], FD_RTOL, FD_ATOL)


def test_method_forms() -> None:
    f = differentiate(f_two_out)
    x, y = 0.7, -1.3
    out, t = f.jvp((x, y), (1.0, 0.0))
    close(t, np.array(jac_two_out(x, y))[:, 0])
    out, pullback = f.vjp(x, y)
    close(pullback((0.0, 1.0)), jac_two_out(x, y)[1])
    close(f.jacobian(x, y), jac_two_out(x, y))
    close(f.jacobian(x, y, mode="fwd"), jac_two_out(x, y))


# --------------------------------------------------------------------------- Jacobians


def test_jacobian_method_modes_agree_with_int_argument() -> None:
    """Over all arguments, forward and reverse mode treat an int argument the same way."""
    rev = power_loop.jacobian(1.5, 3)
    fwd = power_loop.jacobian(1.5, 3, mode="fwd")
    assert rev[1] is None, rev  # like .grad: None for the int argument
    close(rev[0], power_loop.grad(1.5, 3)[0])
    assert isinstance(fwd, tuple) and len(fwd) == 2 and fwd[1] is None, fwd
    close(fwd[0], rev[0])


def test_jacfwd_jacrev_two_in_two_out() -> None:
    for point in [(0.7, -1.3), (2.0, 0.4)]:
        jf = srcad.jacfwd(f_two_out, argnums=(0, 1))(*point)
        jr = srcad.jacrev(f_two_out, argnums=(0, 1))(*point)
        # JAX nesting: one entry per output, each holding one entry per argument
        for jac in (jf, jr):
            assert isinstance(jac, tuple) and len(jac) == 2
            assert all(isinstance(row, tuple) and len(row) == 2 for row in jac)
        close(jf, jr, 1e-13, 1e-15, "jacfwd vs jacrev")
        close(jr, fd.jacobian(f_two_out, point), FD_RTOL, FD_ATOL, "jacrev vs FD")
        close(jr, jac_two_out(*point))


def test_jacobian_single_argnum() -> None:
    point = (0.7, -1.3)
    jf = srcad.jacfwd(f_two_out, argnums=1)(*point)
    jr = srcad.jacrev(f_two_out, argnums=1)(*point)
    expected = np.array(jac_two_out(*point))[:, 1]
    close(jf, expected)
    close(jr, expected)


def test_jacobian_of_scalar_function() -> None:
    jf = srcad.jacfwd(f_log_sin, argnums=(0, 1))(*POINT)
    jr = srcad.jacrev(f_log_sin, argnums=(0, 1))(*POINT)
    close(jf, df_log_sin(*POINT))
    close(jr, df_log_sin(*POINT))


# --------------------------------------------------------------------------- Hessians


LOOP_POINTS = [(0.3, 1.7, 5), (0.45, -0.8, 3)]


@pytest.mark.parametrize("point", LOOP_POINTS)
def test_loop_gradient_vs_fd(point) -> None:
    g = srcad.grad(f_loop_energy, argnums=(0, 1))(*point)
    close(g, fd.jacobian(f_loop_energy, point)[0, :2], FD_RTOL, FD_ATOL)


@pytest.mark.parametrize("point", LOOP_POINTS)
def test_hessian_vs_fd_of_gradient(point) -> None:
    grad = srcad.grad(f_loop_energy, argnums=(0, 1))
    expected = fd.jacobian(grad, point)[:, :2]  # d grad_k / d x_j
    hess = srcad.hessian(f_loop_energy, argnums=(0, 1))(*point)
    assert isinstance(hess, tuple) and all(isinstance(r, tuple) and len(r) == 2 for r in hess)
    close(hess, expected, 1e-6, 1e-7)
    close(hess, np.transpose(hess), 1e-12, 1e-14, "Hessian not symmetric")


@pytest.mark.parametrize("point", LOOP_POINTS)
def test_hessian_single_argnum_of_multi_argument_function(point) -> None:
    """argnums=0 (the default) on a function with two float arguments: d2f/dx0^2 only."""
    expected = fd.partial(srcad.grad(f_loop_energy, argnums=0), point, 0)[0]
    close(srcad.hessian(f_loop_energy, argnums=0)(*point), expected, 1e-6, 1e-7)
    close(srcad.hessian(f_loop_energy)(*point), expected, 1e-6, 1e-7)
    expected_yy = fd.partial(srcad.grad(f_loop_energy, argnums=1), point, 1)[0]
    close(srcad.hessian(f_loop_energy, argnums=1)(*point), expected_yy, 1e-6, 1e-7)


@pytest.mark.parametrize("point", LOOP_POINTS)
def test_hvp_vs_fd_of_gradient(point) -> None:
    grad = srcad.grad(f_loop_energy, argnums=(0, 1))
    expected = fd.jacobian(grad, point)[:, :2]
    v = np.array([0.7, -1.1])
    hv = srcad.hvp(f_loop_energy, point, (0.7, -1.1, 0))
    assert isinstance(hv, tuple) and len(hv) == 2
    close(hv, expected @ v, 1e-6, 1e-7)


def test_hessian_hand_derived() -> None:
    # f = x^3: f'' = 6x; one-argument function: bare values
    close(srcad.hessian(f_square)(1.5), 9.0)
    close(srcad.hvp(f_square, (1.5,), (2.0,)), 18.0)
    close(square.hessian(1.5), 9.0)
    # f_log_sin: d2/dx1^2 = -1/x1^2, d2/dx1dx2 = 1, d2/dx2^2 = sin(x2)
    x1, x2 = POINT
    close(dec_plain.hessian(x1, x2), ((-1.0 / x1**2, 1.0), (1.0, math.sin(x2))))


# --------------------------------------------------------------------------- check_grads


def test_check_grads_passes_on_good_function() -> None:
    srcad.testing.check_grads(f_smooth, (0.4, -0.9), modes=("fwd", "rev"), order=2)
    srcad.testing.check_grads(f_two_out, (0.7, -1.3), modes=("fwd", "rev"))
    srcad.testing.check_grads(f_power_loop, (1.1, 4))


def test_check_grads_catches_a_real_disagreement() -> None:
    """stop_gradient makes srcad's derivative differ from finite differences of the value."""
    with pytest.raises(AssertionError):
        srcad.testing.check_grads(f_stop, (1.3,), modes=("fwd",))
    with pytest.raises(AssertionError):
        srcad.testing.check_grads(f_stop, (1.3,), modes=("rev",))


@pytest.mark.parametrize("mode", ["fwd", "rev", "hvp"])
def test_check_grads_catches_wrong_derivatives(monkeypatch, mode) -> None:
    real_jvp, real_vjp, real_hvp = srcad.testing.jvp, srcad.testing.vjp, srcad.testing.hvp

    def bad_jvp(f, primals, tangents, **kw):
        out, t = real_jvp(f, primals, tangents, **kw)
        return out, t * (1.0 + 1e-3)

    def bad_vjp(f, *primals, **kw):
        out, pullback = real_vjp(f, *primals, **kw)
        return out, lambda ct: tuple(g * (1.0 + 1e-3) for g in pullback(ct))

    def bad_hvp(f, primals, tangents, **kw):
        return tuple(h * (1.0 + 1e-3) for h in real_hvp(f, primals, tangents, **kw))

    args = (0.4, -0.9)
    # unpatched, each check passes
    srcad.testing.check_grads(f_smooth, args, modes=("fwd", "rev"), order=2)
    patch = {"fwd": ("jvp", bad_jvp), "rev": ("vjp", bad_vjp), "hvp": ("hvp", bad_hvp)}[mode]
    monkeypatch.setattr(srcad.testing, *patch)
    modes = {"fwd": ("fwd",), "rev": ("rev",), "hvp": ()}[mode]
    with pytest.raises(AssertionError):
        srcad.testing.check_grads(f_smooth, args, modes=modes, order=2 if mode == "hvp" else 1)


# --------------------------------------------------------------------------- stop_gradient


def test_stop_gradient() -> None:
    x = 1.3
    close(srcad.grad(f_stop)(x), x * x)  # d/dx [x * sg(x^2)] = sg(x^2)
    close(srcad.jvp(f_stop, (x,), (1.0,))[1], x * x)
    close(srcad.vjp(f_stop, x)[1](1.0)[0], x * x)
    close(srcad.differentiate(f_stop)(x), x**3)
    # the gradient is sg(x^2) (JAX semantics), so the second derivative is zero
    close(srcad.hessian(f_stop)(x), 0.0)


# --------------------------------------------------------------------------- show


@pytest.mark.parametrize("mode, marker, entry", [("primal", None, "primal"),
                                                 ("forward", "_dot", "jvp"),
                                                 ("reverse", "_bar", "grad")])
def test_show(mode, marker, entry) -> None:
    text = srcad.show(f_named, 1.5, 2.0, mode=mode)
    for name in ("velocity", "mass", "momentum", "energy"):
        assert name in text, f"{name!r} missing from show(mode={mode!r}):\n{text}"
    if marker is not None:
        assert f"velocity{marker}" in text and f"mass{marker}" in text, text
    else:
        assert "_bar" not in text and "_dot" not in text, text
    assert "# line" in text
    # the line comments point at the lines of f_named
    lines, start = inspect.getsourcelines(f_named)
    momentum_line = start + next(k for k, t in enumerate(lines) if "momentum =" in t)
    assert f"# line {momentum_line}" in text, text
    assert f"def f_named_{entry}(velocity, mass" in text, text


def test_show_method() -> None:
    f = differentiate(f_named)
    assert f.show(1.5, 2.0, mode="reverse") == srcad.show(f_named, 1.5, 2.0, mode="reverse")


# --------------------------------------------------------------------------- disk cache

CACHE_MODULE = '''
import math


def energy(x, y, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x * (i + 1)) * y + x * y * y
    return s
'''

CACHE_SCRIPT = '''
import sys
sys.path.insert(0, sys.argv[1])
import srcad
import cached_model
g = srcad.grad(cached_model.energy, argnums=(0, 1))(0.3, 1.7, 6)
print(repr(g))
print(repr(srcad.differentiate(cached_model.energy)(0.3, 1.7, 6)))
'''


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def _run_cached(tmp_path: Path, cache: Path) -> str:
    env = dict(os.environ, SRCAD_CACHE_DIR=str(cache))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", CACHE_SCRIPT, str(tmp_path)], env=env, capture_output=True,
        text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_disk_cache_second_process(tmp_path: Path) -> None:
    (tmp_path / "cached_model.py").write_text(textwrap.dedent(CACHE_MODULE))
    cache = tmp_path / "cache"
    first = _run_cached(tmp_path, cache)
    after_first = _snapshot(cache)
    assert any(name.endswith(".py") for name in after_first), after_first
    # Numba's own cache (index + object code) sits beside the generated modules
    assert any(name.endswith(".nbi") for name in after_first), after_first
    second = _run_cached(tmp_path, cache)
    after_second = _snapshot(cache)
    assert second == first
    new = sorted(set(after_second) - set(after_first))
    assert not new, f"the second process wrote new files: {new}"
    changed = sorted(k for k in after_first if after_second.get(k) != after_first[k])
    assert not changed, f"the second process rewrote files: {changed}"
    # and the result is right
    g = eval(first.splitlines()[0])
    spec = importlib.util.spec_from_file_location("cached_model_ref", tmp_path / "cached_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    close(g, fd.jacobian(mod.energy, (0.3, 1.7, 6))[0, :2], FD_RTOL, FD_ATOL)


# --------------------------------------------------------------------------- checkpointing


def f_sim(x, k, n):
    s = x
    v = 0.0
    for i in range(n):
        a = -k * s - 0.1 * v
        v = v + 0.01 * a
        s = s + 0.01 * v + math.sin(s) * 0.001
    return s * s + v


SIM_POINT = (1.2, 3.0, 400)


def test_checkpointing_gives_the_same_gradient_with_less_tape() -> None:
    plain = srcad.grad(f_sim, argnums=(0, 1))(*SIM_POINT)
    close(plain, fd.jacobian(f_sim, SIM_POINT)[0, :2], FD_RTOL, FD_ATOL)
    for checkpoint in (True, 7):
        f = differentiate(f_sim, checkpoint=checkpoint)
        g = f.grad(*SIM_POINT)
        assert g[2] is None
        close(g[:2], plain, 1e-13, 1e-15, f"checkpoint={checkpoint}")
    full = srcad.tape_size(f_sim, *SIM_POINT)
    assert 0 < srcad.tape_size(f_sim, *SIM_POINT, checkpoint=True) < full
    with pytest.raises(ValueError):
        differentiate(f_sim, checkpoint=-3)


# --------------------------------------------------------------------------- array arguments


def f_ignores_array(x, y):
    return y * 2.0


def f_linear_in_array(x):
    return np.sum(x) * 2.0


def f_quadratic_in_array(x):
    return np.sum(x * x) + np.sum(x) * 3.0


ARRAY = np.array([1.0, -2.0, 0.5])


def test_zero_gradient_of_array_argument_has_its_shape() -> None:
    """A cotangent has the shape of its primal, also when it is zero (as in JAX)."""
    g = srcad.grad(f_ignores_array, argnums=0)(ARRAY, 1.5)
    assert np.shape(g) == ARRAY.shape, f"grad w.r.t. an unused array is {g!r}"
    np.testing.assert_array_equal(g, np.zeros(3))
    gx, gy = srcad.grad(f_ignores_array, argnums=(0, 1))(ARRAY, 1.5)
    assert np.shape(gx) == ARRAY.shape and gy == 2.0
    _, pullback = srcad.vjp(f_ignores_array, ARRAY, 1.5)
    assert np.shape(pullback(1.0)[0]) == ARRAY.shape


def test_array_gradient_and_hvp() -> None:
    g = srcad.grad(f_quadratic_in_array)(ARRAY)
    close(g, 2.0 * ARRAY + 3.0)
    v = np.array([0.5, 1.0, -1.0])
    close(srcad.hvp(f_quadratic_in_array, (ARRAY,), (v,)), 2.0 * v)


def test_hvp_of_linear_function_of_array_has_its_shape() -> None:
    hv = srcad.hvp(f_linear_in_array, (ARRAY,), (np.ones(3),))
    assert np.shape(hv) == ARRAY.shape, f"Hessian-vector product is {hv!r}"
    np.testing.assert_array_equal(hv, np.zeros(3))


# --------------------------------------------------------------------------- Jacobians of arrays

def _jac_g(x):
    return np.sin(x) * x[0]


def _jac_h(x, y):
    return np.sum(x * x * y[0]) + y[1] ** 3 * x[1]


def _jac_k(A, v):
    return np.tanh(A @ v)


def test_jacobians_of_array_functions_have_jax_shapes():
    """jacfwd/jacrev of array -> array functions are full Jacobians (output shape + argument
    shape), checked against hand-derived ones; forward and reverse agree."""
    x = np.array([0.1, 0.2, 0.3])
    J = np.diag(np.cos(x) * x[0])
    J[:, 0] += np.sin(x)
    np.testing.assert_allclose(srcad.jacfwd(_jac_g)(x), J, rtol=1e-12)
    np.testing.assert_allclose(srcad.jacrev(_jac_g)(x), J, rtol=1e-12)
    A = np.arange(6.0).reshape(2, 3) / 10
    jf = srcad.jacfwd(_jac_k, argnums=(0, 1))(A, x)
    jr = srcad.jacrev(_jac_k, argnums=(0, 1))(A, x)
    s = 1 - np.tanh(A @ x) ** 2
    expected_A = np.einsum("i,ij,k->ijk", s, np.eye(2), x)  # d out_i / d A_jk
    for got in (jf, jr):
        assert got[0].shape == (2, 2, 3) and got[1].shape == (2, 3)
        np.testing.assert_allclose(got[1], s[:, None] * A, rtol=1e-12)
        np.testing.assert_allclose(got[0], expected_A, rtol=1e-12)


def test_hessian_of_array_arguments_is_full():
    x = np.array([0.1, 0.2, 0.3])
    y = np.array([0.5, -0.7])
    H = srcad.hessian(_jac_h, argnums=(0, 1))(x, y)
    hxy = np.zeros((3, 2))
    hxy[:, 0] = 2 * x
    hxy[1, 1] = 3 * y[1] ** 2
    hyy = np.zeros((2, 2))
    hyy[1, 1] = 6 * y[1] * x[1]
    np.testing.assert_allclose(H[0][0], 2 * y[0] * np.eye(3), rtol=1e-12)
    np.testing.assert_allclose(H[0][1], hxy, rtol=1e-12)
    np.testing.assert_allclose(H[1][0], hxy.T, rtol=1e-12)
    np.testing.assert_allclose(H[1][1], hyy, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(srcad.hessian(_jac_h)(x, y), 2 * y[0] * np.eye(3), rtol=1e-12)


def _identity(y):
    return y


def _constant(y):
    return 1.0


def test_interpreted_transforms_return_a_parameter_or_a_constant():
    """The interpreter hands back the Python float it was given (or a constant): the 0-d
    results are converted like NumPy scalars (an AttributeError on .item() before)."""
    assert srcad.vjp(_identity, 0.3, backend="interpret")[1](1.0) == (1.0,)
    assert srcad.jvp(_identity, (0.3,), (2.0,), backend="interpret") == (0.3, 2.0)
    assert srcad.vjp(_constant, 0.3, backend="interpret")[0] == 1.0
