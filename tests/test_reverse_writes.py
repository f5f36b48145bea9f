"""Reverse mode through in-place writes combined with branches, loops, masks and checkpointing
(issue 13).  Each case is checked for its value (compiled and interpreted, against CPython, the
caller's arrays untouched) and for its derivatives in both modes against central finite
differences, compiled and interpreted (``check_grads`` also compares forward with reverse)."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads


def _copies(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


# -- cases --------------------------------------------------------------------------------------

def branch_overwrite(x, a):
    """a[1] is read in the taken branch and overwritten after the if; the other branch writes
    into a too (the taped branch value shared its buffer with the array written after)."""
    if x < 0.0:
        a[2] = 2.0
    else:
        a[3] += 1.5
        x = a[1] * x
    a[1] -= 1.0
    return np.sum(a ** 2) + x


def branch_overwrite_nested(x, a, n):
    """The same inside a loop, with the branch's write nested one level deeper."""
    for i in range(n):
        if x < 0.0:
            a[2] = 2.0 * a[0]
        else:
            if x > 0.5:
                a[3] *= 1.5
            else:
                a[0] += x
            x = a[1] * x + a[0]
        a[1] = np.sin(a[1])
    return np.sum(a ** 2) + x


def branch_yields_older_array(x, a, n):
    """One branch yields an array made before the if (whose exp adjoint reads it), the other a
    new one; the write after the if goes into the older array on the first path."""
    s = 0.0
    for i in range(n):
        b = np.exp(a * x)
        if b[0] > 1.0:
            c = b
        else:
            c = a * 2.0
        c[i % 3] = x * c[0]
        s = s + np.sum(c * c)
    return s


def _write_helper(v, c):
    v[0] += c * v[1]
    v[1:] *= 0.9
    return v[2]


def helper_loop(a, x, n):
    """A helper that writes into its argument, called in a loop with an early return (the
    adjoint needed the helper's parameter after the write: an internal error)."""
    s = 0.0
    for i in range(n):
        s += _write_helper(a, x)
        if s > 1.0:
            return s * np.sum(a)
    return s + np.sum(a ** 2)


def nested_same(a, x, n):
    for i in range(n):
        for j in range(3):
            if a[j] > x:
                a[j] = np.sin(a[j]) * x
                if j == 1:
                    break
            else:
                a[(j + 1) % 3] += a[j] * a[j]
        a[i % 3] *= 1.1
    return np.sum(a * a)


def while_write(a, x):
    k = 0
    while k < 5 and a[0] < 3.0:
        k += 1
        a[k % 3] = a[(k + 1) % 3] * x + np.cos(a[k % 3])
        if a[1] > 2.0:
            continue
        a[0] += 0.3 * x
    return np.sum(np.exp(a))


def shape_read_after_write(X, a, x):
    """A branch that leaves an array alone reads it (for its shape) in the adjoint sweep after
    a later write overwrote it: it must read the restored buffer."""
    for i in range(2):
        if x > 0.0:
            pass
        else:
            a[i] = np.sum(X, axis=0)[i]
        X[:, i] = a
    return np.mean(a)


def shape_read_early_return(n, x, a):
    for i in range(1, 1):
        u = a[n]
        if u > 0.0:
            if u > 0.0:
                return a[i]
        else:
            a[n] += x
    return 0.85


def shape_read_early_return_runs(n, x, a):
    for i in range(1, 4):
        u = a[n]
        if u > 0.0:
            if u > 0.5:
                return a[i] * x
        else:
            a[n] += x
    return np.sum(a * a)


def shape_read_continue(X, a):
    for i in range(4):
        X[i] = np.sum(a)
        if np.max(X) > 0.0:
            continue
        a += X
    return np.sum(X)


def shape_read_continue_exp(X, a):
    for i in range(4):
        X[i] = np.sum(a * a)
        if np.max(X) > 3.0:
            continue
        a = a + np.exp(X)
    return np.sum(X) + np.sum(np.sin(a))


def branch_write_then_update(x, n):
    """An if in a loop that writes an element and then updates the whole array (the adjoint
    of the untaken branch copied an adjoint that was never assigned)."""
    for i in range(n):
        if x[0] > 0.0:
            x[2] *= 0.8
            x += x
    return np.sum(x)


def branch_write_then_slice_update(x, n):
    """The same with the whole-array update written as an in-place write."""
    for i in range(n):
        if x[0] > 0.0:
            x[2] *= 0.8
            x[:] = x + x
    return np.sum(x * x)


def branch_write_then_update_else(x, n):
    for i in range(n):
        if x[i % 2] > 0.0:
            x[2] *= 0.8
            x[:] = x * x[1]
        else:
            x[1] = np.sin(x[3])
    return np.sum(x * x)


def ckpt_aug(a, n):
    for i in srcad.checkpoint(range(n), every=2):
        a -= 0.5
        a[:] *= 0.8
    return np.sum(a * a)


def ckpt_rebind(a, n):
    for i in srcad.checkpoint(range(n), every=2):
        a = a - 0.5
        a[:] *= np.sin(a)
    return np.sum(a * a)


def ckpt_inplace_only(a, n):
    for i in srcad.checkpoint(range(n), every=2):
        a[:] *= 0.8 + 0.1 * np.cos(a)
    return np.sum(a * a)


def ckpt_branch_rows(H, w, n):
    """Element and row writes under a branch in a checkpointed loop (every=3 leaves a
    shorter last segment)."""
    for t in srcad.checkpoint(range(n), every=3):
        k = t % H.shape[0]
        if H[k, 0] > 0.0:
            H[k] = np.tanh(H[k] * w)
        else:
            H[k, 1] = H[k, 0] * w[1]
        H[(k + 1) % H.shape[0]] += 0.1 * H[k]
    return np.sum(H ** 2)


def ckpt_two_arrays(a, b, n):
    for i in srcad.checkpoint(range(n), every=2):
        a[i % 3] = np.exp(0.1 * b[i % 3]) * a[(i + 1) % 3]
        b = b * a
    return np.sum(a) + np.sum(b)


_X35 = np.array([[1.0, -0.7, -0.1, 0.6, -1.1], [-0.1, -0.1, -1.4, 1.2, 0.4],
                 [-0.1, -1.2, 0.0, -1.3, -1.4]])
_A5 = np.array([-1.136163, 1.036455, 0.213387, 1.242451, -1.120863])

CASES = {
    "branch_overwrite": (branch_overwrite, (0.025778, _A5)),
    "branch_overwrite_other": (branch_overwrite, (-0.3, _A5)),
    "branch_overwrite_nested": (branch_overwrite_nested, (0.3, _A5, 3)),
    "branch_overwrite_nested_other": (branch_overwrite_nested, (0.7, _A5, 2)),
    "branch_yields_older_array": (branch_yields_older_array, (0.3, np.array([0.1, -0.2, 0.3]), 4)),
    "helper_loop": (helper_loop, (np.array([0.3, -0.2, 0.5]), 0.7, 4)),
    "helper_loop_returns": (helper_loop, (np.array([0.3, 0.2, 0.5]), 0.7, 4)),
    "nested_same": (nested_same, (np.array([0.3, -0.2, 0.5]), 0.1, 3)),
    "nested_same_other": (nested_same, (np.array([0.3, -0.2, 0.5]), -0.4, 2)),
    "while_write": (while_write, (np.array([0.3, -0.2, 0.5]), 0.7)),
    "while_write_continue": (while_write, (np.array([0.3, 1.9, 0.5]), 1.2)),
    "branch_write_then_update": (branch_write_then_update,
                                 (np.array([0.26, -1.49, 0.38, 0.77]), 2)),
    "branch_write_then_update_untaken": (branch_write_then_update,
                                         (np.array([-0.26, -1.49, 0.38, 0.77]), 2)),
    "branch_write_then_slice_update": (branch_write_then_slice_update,
                                       (np.array([0.26, -1.49, 0.38, 0.77]), 2)),
    "branch_write_then_update_else": (branch_write_then_update_else,
                                      (np.array([0.26, -0.49, 0.38, 0.77]), 3)),
    "ckpt_aug": (ckpt_aug, (np.array([1.35, -1.12, -1.33, -1.39]), 3)),
    "ckpt_rebind": (ckpt_rebind, (np.array([1.35, -1.12, -1.33, -1.39]), 3)),
    "ckpt_inplace_only": (ckpt_inplace_only, (np.array([1.35, -1.12, -1.33, -1.39]), 5)),
    "ckpt_inplace_only_none": (ckpt_inplace_only, (np.array([1.35, -1.12]), 0)),
    "ckpt_branch_rows": (ckpt_branch_rows, (np.array([[0.3, -0.2, 0.5], [-0.4, 0.6, 0.1],
                                                      [0.2, 0.3, -0.7]]),
                                            np.array([0.9, -1.1, 0.7]), 7)),
    "ckpt_two_arrays": (ckpt_two_arrays, (np.array([0.3, -0.2, 0.5]), np.array([0.9, -1.1, 0.7]),
                                          5)),
    "shape_read_after_write": (shape_read_after_write, (_X35, _A5[:3], -0.9)),
    "shape_read_after_write_other": (shape_read_after_write, (_X35, _A5[:3], 0.9)),
    "shape_read_early_return": (shape_read_early_return, (2, 0.5, np.array([0.2, 0.1, 0.3, 0.4]))),
    "shape_read_early_return_runs": (shape_read_early_return_runs,
                                     (2, 0.5, np.array([0.2, 0.1, -0.3, 0.4]))),
    "shape_read_continue": (shape_read_continue, (np.array([0.3, -1.2, 0.5, 0.1]),
                                                  np.array([-0.4, 0.2, 0.7, -0.3]))),
    "shape_read_continue_exp": (shape_read_continue_exp, (np.array([0.3, -1.2, 0.5, 0.1]),
                                                          np.array([-0.4, 0.2, 0.7, -0.3]))),
}


def _check_value(f, args):
    """CPython's value, and CPython's contents of the argument arrays after the call (the
    primal writes into the caller's arrays as Python does)."""
    py_args = _copies(args)
    expected = f(*py_args)
    for run in (srcad.differentiate(f), lambda *a: srcad.interpret(f, *a)):
        given = _copies(args)
        np.testing.assert_allclose(run(*given), expected, rtol=1e-12, atol=1e-12)
        for a, b in zip(given, py_args):
            if isinstance(a, np.ndarray):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_matches_python(name):
    _check_value(*CASES[name])


@pytest.mark.parametrize("backend", ["interpret", "numba"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(name, backend):
    f, args = CASES[name]
    check_grads(f, _copies(args), backend=backend)


def _inplace_steps(a, n):
    for i in range(n):
        a[i % a.shape[0]] = np.sin(a[(i + 1) % a.shape[0]]) * a[i % a.shape[0]]
        a[:] *= 0.9 + 0.05 * np.cos(a)
    return np.sum(a * a)


def test_checkpointing_loops_that_write_in_place():
    """A checkpointed loop that writes its arrays in place re-runs each segment from the
    segment's starting arrays: the same gradient as without checkpointing (bit for bit: the
    adjoint additions associate the same way), with less tape."""
    a, n = np.linspace(-1.0, 1.0, 6), 40
    plain = srcad.grad(_inplace_steps)(a.copy(), n)
    for every in (True, 7):
        ck = srcad.differentiate(_inplace_steps, checkpoint=every)
        np.testing.assert_array_equal(srcad.grad(ck)(a.copy(), n), plain)
        assert srcad.tape_size(_inplace_steps, a, n, checkpoint=every) < \
            srcad.tape_size(_inplace_steps, a, n)
    check_grads(srcad.differentiate(_inplace_steps, checkpoint=True), (a.copy(), 9))


@pytest.mark.parametrize("name", ["branch_overwrite_nested", "shape_read_continue_exp",
                                  "ckpt_branch_rows", "helper_loop", "while_write"])
def test_second_order(name):
    """Forward over reverse (Hessian-vector products) through the restored writes."""
    f, args = CASES[name]
    check_grads(f, _copies(args), order=2, backend="interpret")
