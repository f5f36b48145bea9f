"""Python and NumPy semantics that random programs found srcad getting wrong (issue 13), each
checked against CPython for the value and finite differences for the derivatives."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads


def flat_cumsum(A):
    return np.sum(np.sin(np.cumsum(A).reshape(A.shape[1], A.shape[0])))


def flat_arg(A):
    return np.sin(A[0, 1]) * np.argmax(A) + A.argmin() * A[1, 0]


def _writes_then_returns(P, v):
    for i in range(3):
        if P[i] > v:
            return
        P[i] = v * P[i]


def bare_return_helper(A, x):
    _writes_then_returns(A, x)
    return np.sum(A * A)


A23 = np.array([[-0.9, 0.4, 0.3], [-1.1, -0.2, 0.7]])


@pytest.mark.parametrize("fn, args", [
    (flat_cumsum, (A23,)), (flat_arg, (A23,)),
    (bare_return_helper, (np.array([0.1, 0.2, 0.9]), 0.5)),
    (bare_return_helper, (np.array([0.1, 0.7, 0.9]), 0.5)),
])
def test_matches_python_and_finite_differences(fn, args):
    """np.cumsum/argmax/argmin of a 2-D array work on the flattened array (NumPy's meaning;
    cumsum's reverse mode crashed); a helper's bare ``return`` returns None."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    expected = fn(*copies)
    for run in (srcad.differentiate(fn), lambda *a: srcad.interpret(fn, *a)):
        assert run(*[a.copy() if isinstance(a, np.ndarray) else a for a in args]) == \
            pytest.approx(expected, rel=1e-13)
    for backend in ("interpret", "numba"):
        check_grads(fn, args, backend=backend)


def _maybe_rebinds(P, v):
    if v > 0.0:
        P = P * 2.0
    P[0] = v


def written_on_some_paths(A, x):
    if x > 1.0:
        _maybe_rebinds(A, x)
    return np.sum(A)


def test_stale_name_after_a_branch_says_why():
    """A write through a name that is the caller's array on some paths only: using the
    caller's array afterwards is refused with the reason, not 'assigned only in some
    branches'."""
    with pytest.raises(srcad.SrcadError, match=r"test_semantics\.py:\d+:\d+: 'A' cannot be "
                       r"used here: it may be the same array as 'P'"):
        srcad.differentiate(written_on_some_paths)(np.ones(3), 2.0)


def _value_or_none(v):
    if v > 0.0:
        return 1.0
    return


def mixed_returns(x):
    return _value_or_none(x) * x


def test_helper_returning_a_value_and_none_is_located():
    with pytest.raises(srcad.SrcadTypeError, match=r"test_semantics\.py:\d+:\d+: "
                       r"_value_or_none returns a value on some paths and None on others"):
        srcad.differentiate(mixed_returns)(0.5)


def mixed_then_loop_write(x, c):
    h0 = x * 1.0
    if c > 0.0:
        h = 2.0 * h0
    else:
        h = h0
    for i in range(1):
        h[0] = 100.0
    return np.sum(h0)


def test_write_in_a_loop_through_one_of_several_arrays():
    """h is h0 on one path only; a write through h inside a loop may change h0: reading h0
    afterwards is refused with the reason (it returned h0's old value silently)."""
    with pytest.raises(srcad.SrcadError, match=r"'h0' cannot be used here: it may be the "
                       r"same array as 'h'"):
        srcad.differentiate(mixed_then_loop_write)(np.ones(3), -1.0)


# Aliasing that changes inside a helper or a loop (found by the fuzzer: silent wrong values).

def _write_then_rebind_in_loop(P, v):
    for i in range(0, 2, 2):
        P[0] -= v
        P = P * 0.88


def helper_loop_writes_then_rebinds(a, z):
    _write_then_rebind_in_loop(a, z)
    return np.sum(a)


def _write_or_rebind(P, p):
    if p < 3.0:
        P[1] -= 3.0
    else:
        P = P + P


def helper_branch_writes_or_rebinds(a, y):
    _write_or_rebind(a, a[0] * y)
    return np.sum(a * a)


def _shift_view(P):
    for i in range(1, P.shape[0]):
        P[2:3] = np.sin(1.0)
        P = P[1:4]


def view_carried_into_the_next_iteration(x):
    c = np.ones(4) * x
    _shift_view(c)
    return np.sum(c)


def alias_made_in_the_loop(x, c):
    b = 2.0 - c
    v1 = np.linspace(1.0, 1.0, 3)
    j = 0
    while j < 4:
        j += 1
        b[-2] += x
        b = v1
    return np.sum(b)


@pytest.mark.parametrize("fn, args", [
    (helper_branch_writes_or_rebinds, (np.array([-0.7, 0.3, 1.3, 1.3]), 0.5)),
    (helper_branch_writes_or_rebinds, (np.array([0.7, 0.3, 1.3, 1.3]), 9.0)),
])
def test_caller_sees_the_writes_of_the_branch_taken(fn, args):
    """A helper writes its argument in one branch and rebinds it in the other: the caller's
    array is the written one or the original, by the branch taken (it stayed the original)."""
    expected = fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    for run in (srcad.differentiate(fn), lambda *a: srcad.interpret(fn, *a)):
        assert run(*[a.copy() if isinstance(a, np.ndarray) else a for a in args]) == \
            pytest.approx(expected, rel=1e-14)
    for backend in ("interpret", "numba"):
        check_grads(fn, args, backend=backend)


@pytest.mark.parametrize("fn, args, message", [
    (helper_loop_writes_then_rebinds, (np.array([1.0, -0.4]), 0.6),
     "'a' cannot be used here: the loop at line \\d+ writes into it and then makes the name"),
    (view_carried_into_the_next_iteration, (1.0,),
     "'P' is a view of another array"),
    (alias_made_in_the_loop, (0.7, np.array([0.3, 0.7, 0.4])),
     "'v1' cannot be used here: it may be the same array as 'b'"),
])
def test_aliasing_that_changes_across_iterations_is_refused(fn, args, message):
    """Each returned a silently wrong value: the writes of later iterations went through an
    array the frontend took for a new one."""
    with pytest.raises(srcad.SrcadError, match=r"test_semantics\.py:\d+:\d+: " + message):
        srcad.differentiate(fn)(*args)
