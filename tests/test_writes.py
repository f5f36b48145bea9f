"""In-place array writes (issue 4): values and derivatives of tests/array_writes.py.

Each function is checked (1) compiled and interpreted against CPython, value and argument
arrays (the primal call writes into the caller's arrays where Python does; derivative calls
never do), and (2) in both modes against central finite differences, compiled and
interpreted."""
import numpy as np
import pytest

import srcad
import tests.array_writes as aw
from srcad.testing import check_grads


def _copies(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


@pytest.mark.parametrize("name", sorted(aw.CASES))
def test_value_matches_python(name):
    """The value is CPython's, and the caller's arrays hold afterwards what CPython leaves in
    them (a function that writes into its argument writes into the caller's array)."""
    f, args = aw.CASES[name]
    py_args = _copies(args)
    expected = f(*py_args)
    for run in (srcad.differentiate(f), lambda *a: srcad.interpret(f, *a)):
        given = _copies(args)
        assert np.isclose(run(*given), expected, rtol=1e-12, atol=1e-12)
        for a, b in zip(given, py_args):
            if isinstance(a, np.ndarray):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["interpret", "numba"])
@pytest.mark.parametrize("name", sorted(aw.CASES))
def test_gradients_match_finite_differences(name, backend):
    f, args = aw.CASES[name]
    before = _copies(args)
    check_grads(f, _copies(args), backend=backend)
    for a, b in zip(before, args):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)


def test_gradient_leaves_arguments_alone():
    f, args = aw.CASES["write_argument"]
    x = args[0].copy()
    g = srcad.grad(f)(x)
    np.testing.assert_array_equal(x, args[0])
    # d/dx of sum(y*y) with y = x except y0 = x0 x1
    y0 = x[0] * x[1]
    expected = 2.0 * x
    expected[0] = 2.0 * y0 * x[1]
    expected[1] = 2.0 * x[1] + 2.0 * y0 * x[0]
    np.testing.assert_allclose(g, expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["rnn", "hand_cumsum", "overwrite_needed", "stencil"])
def test_second_order_through_writes(name):
    """Forward over reverse (Hessian-vector products) through restored writes."""
    f, args = aw.CASES[name]
    check_grads(f, _copies(args), order=2, backend="interpret")


def test_rnn_tapes_rows_not_matrices():
    """Reverse mode restores overwritten rows instead of taping whole state matrices: the
    generated gradient of the RNN pushes only 1-D arrays (rows) and never copies the state
    matrix inside the loop."""
    f, args = aw.CASES["rnn"]
    src = srcad.show(f, *args).split("# --- generated Python ---")[1]
    assert "tape_f64_1d.append" in src
    assert "tape_f64_2d" not in src
    loop_body = src[src.index("for t in range"):src.index("adjoint of line")]
    assert "h_1.copy()" not in loop_body and "h.copy()" not in src


@pytest.mark.parametrize("name", sorted(aw.REFUSED))
def test_unsupported_writes_are_located_errors(name):
    f, args = aw.REFUSED[name]
    with pytest.raises(srcad.SrcadError, match=r"array_writes\.py:\d+:\d+"):
        srcad.grad(f)(*_copies(args))


@pytest.mark.parametrize("name", ["maybe_same_read", "maybe_ran_read"])
def test_write_to_one_of_several_arrays_stales_the_others(name):
    """h is h0 on some paths only; after a write through h, reading h0 is an error that says
    why (never the value of one path)."""
    f, args = aw.REFUSED[name]
    with pytest.raises(srcad.SrcadError, match=r"'h0' cannot be used here: it may be the same "
                       r"array as 'h'.*line \d+ wrote into 'h'"):
        srcad.differentiate(f)(*_copies(args))


def test_rebinding_an_alias_in_a_loop_keeps_the_other_name():
    """h = h0 before the loop and h = f(h) in it: h0 keeps the first array (Python's meaning),
    instead of the error srcad used to raise when the two names part."""
    f, args = aw.CASES["rebind_alias_in_loop"]
    (x,) = _copies(args)
    h0 = x * 1.0
    h = h0
    for _ in range(3):
        h = np.tanh(0.5 * h + h0)
    assert srcad.differentiate(f)(x) == pytest.approx(np.sum(h) + np.sum(h0 * h0), rel=1e-13)
