"""Python's meaning of names, arrays and mutation (issue 13): whole-array augmented assignment
is an in-place write seen through every alias, arithmetic that leaves values unchanged still
makes a new array, the primal writes into the caller's arrays as CPython does, and an array
passed for two parameters is one array.  Values are compared with CPython, derivatives with
finite differences (compiled and interpreted)."""
import numpy as np
import pytest

import srcad
from srcad.testing import check_grads


def _copies(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


# ----------------------------------------------------------------------------- aug-assign

def alias_sub(a, x):
    y = a
    y -= x
    return np.sum(a * a)


def alias_add_row(A, v):
    B = A
    B += v            # v broadcasts along the rows
    return np.sum(A * A) + np.sum(B)


def _bump(t, v):
    t += v


def helper_aug(a, x):
    _bump(a, x)
    return np.sum(a * a)


def alias_mul_2d(A, x):
    B = A
    B *= x
    return np.sum(A)


def alias_div(a, x):
    y = a
    y /= x
    return np.sum(a) + np.sum(y)


def aug_in_loop(a, x):
    y = a
    for i in range(3):
        y *= x
        y += 0.5
    return np.sum(a * a)


def aug_in_branch(a, x):
    y = a
    if x > 0.0:
        y += x
    else:
        y -= 2.0 * x
    return np.sum(a * a) + np.sum(y)


def aug_fresh(a, x):
    y = a * 2.0      # a new array: the write does not reach a
    y += x
    return np.sum(a * a) + np.sum(y * y)


def aug_then_element(a, x):
    b = a
    b += x
    b[0] = b[1] * x
    return np.sum(np.sin(a))


def aug_matrix_product(A, x):
    B = A
    B -= x * (A @ A)     # the right side is computed before the write
    return np.sum(A * A)


AUG_CASES = {
    "alias_sub": (alias_sub, (np.array([0.5, -1.0, 0.25]), 0.3)),
    "alias_add_row": (alias_add_row, (np.array([[0.5, -1.0, 2.0], [0.25, 2.0, -0.5]]),
                                      np.array([0.1, 0.2, -0.3]))),
    "helper_aug": (helper_aug, (np.array([0.5, -1.0, 0.25]), 0.3)),
    "alias_mul_2d": (alias_mul_2d, (np.array([[0.5, -1.0], [0.25, 2.0]]), 0.3)),
    "alias_div": (alias_div, (np.array([0.5, -1.0, 0.25]), 1.7)),
    "aug_in_loop": (aug_in_loop, (np.array([0.5, -1.0, 0.25]), 0.9)),
    "aug_in_branch_pos": (aug_in_branch, (np.array([0.5, -1.0, 0.25]), 0.4)),
    "aug_in_branch_neg": (aug_in_branch, (np.array([0.5, -1.0, 0.25]), -0.4)),
    "aug_fresh": (aug_fresh, (np.array([0.5, -1.0, 0.25]), 0.3)),
    "aug_then_element": (aug_then_element, (np.array([0.5, -1.0, 0.25]), 0.3)),
    "aug_matrix_product": (aug_matrix_product, (np.array([[0.5, -1.0], [0.25, 2.0]]), 0.2)),
}


# ----------------------------------------------------------------------------- fresh arrays

def mul1(a):
    A = a * 1.0
    A[0] = 5.0
    return np.sum(a)


def lmul1(a):
    A = 1.0 * a
    A[0] = 5.0
    return np.sum(a * a)


def add0(a):
    A = a + 0.0
    A[0] = 5.0
    return np.sum(a)


def sub0(a):
    A = a - 0.0
    A[1] = 5.0
    return np.sum(a * a)


def div1(a):
    A = a / 1.0
    A[0] = 5.0
    return np.sum(a)


def pow1(a):
    A = a ** 1
    A[0] = 5.0
    return np.sum(a)


def uplus(a):
    A = +a
    A[0] = 5.0
    return np.sum(a)


def where_same(a, x):
    A = np.where(x > 0.0, a, a)
    A[0] = 5.0
    return np.sum(a)


def where_arrays_same(a, c):
    A = np.where(c > 0.0, a, a)
    A[0] = 5.0
    return np.sum(a * a) + np.sum(A)


def local_identity(a):
    b = np.sin(a)
    A = b * 1.0
    A[0] = 5.0
    return np.sum(b)


def astype_same(a):
    A = a.astype(np.float64)
    A[0] = 5.0
    return np.sum(a * a)


def flatten_1d(a):
    A = a.flatten()
    A[0] = 5.0
    return np.sum(a * a) + np.sum(A)


def flatten_2d(a):
    A = a.flatten()
    A[0] = 5.0
    return np.sum(a * a) + np.sum(A)


def maximum_same(a):
    A = np.maximum(a, a)
    A[0] = 5.0
    return np.sum(a * a) + np.sum(A)


FRESH_CASES = {
    "mul1": (mul1, (np.array([1.0, 2.0, 3.0]),)),
    "lmul1": (lmul1, (np.array([1.0, 2.0, 3.0]),)),
    "add0": (add0, (np.array([1.0, 2.0, 3.0]),)),
    "sub0": (sub0, (np.array([1.0, 2.0, 3.0]),)),
    "div1": (div1, (np.array([1.0, 2.0, 3.0]),)),
    "pow1": (pow1, (np.array([1.0, 2.0, 3.0]),)),
    "uplus": (uplus, (np.array([1.0, 2.0, 3.0]),)),
    "where_same": (where_same, (np.array([1.0, 2.0, 3.0]), 0.5)),
    "where_arrays_same": (where_arrays_same, (np.array([1.0, 2.0, 3.0]),
                                              np.array([1.0, -1.0, 1.0]))),
    "local_identity": (local_identity, (np.array([1.0, 2.0, 3.0]),)),
    "astype_same": (astype_same, (np.array([1.0, 2.0, 3.0]),)),
    "flatten_1d": (flatten_1d, (np.array([1.0, 2.0, 3.0]),)),
    "flatten_2d": (flatten_2d, (np.array([[1.0, 2.0], [3.0, -1.0]]),)),
    "maximum_same": (maximum_same, (np.array([1.0, 2.0, 3.0]),)),
}

CASES = {**AUG_CASES, **FRESH_CASES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_argument_arrays_match_python(name):
    """The compiled primal and the interpreter return CPython's value, and the primal leaves
    the caller's arrays as CPython leaves them (written where the function writes them)."""
    f, args = CASES[name]
    py_args = _copies(args)
    expected = f(*py_args)
    given = _copies(args)
    assert srcad.differentiate(f)(*given) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    for a, b in zip(given, py_args):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert srcad.interpret(f, *_copies(args)) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("backend", ["interpret", "numba"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(name, backend):
    """check_grads compares with finite differences of the Python function (which writes
    into its own copies of the arguments); derivative calls leave the caller's arrays alone."""
    f, args = CASES[name]
    given = _copies(args)
    check_grads(f, given, backend=backend)
    for a, b in zip(given, args):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)


def test_local_identity_gradient():
    """The bug report's gradient: d/da sum(sin(a)) is cos(a), every entry (the write into the
    copy must not reach b)."""
    a = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(srcad.grad(local_identity)(a.copy()), np.cos(a), rtol=1e-14)


def test_aug_assign_dtype_error_is_located():
    """Python refuses int_array += float (same_kind casting); srcad says so at the line."""
    def f(n, x):
        k = np.zeros(3, dtype=np.int64) + n
        k += x
        return x * np.sum(k)
    with pytest.raises(TypeError, match=r"Cannot cast ufunc 'add' output"):
        f(2, 0.5)
    with pytest.raises(srcad.SrcadTypeError, match=r"test_aliasing\.py:\d+:\d+.*cannot"):
        srcad.differentiate(f)(2, 0.5)


# ----------------------------------------------------------------------------- flow

def early_return_nested(x, y):
    if x > 0.0:
        z = x
    else:
        if y < 0.75:
            return y
        z = y
    return z


def early_return_nested_else(x, y):
    if x > 0.0:
        z = x
    else:
        if y < 0.75:
            return y
        else:
            z = 2.0 * y
    return z * z


def break_before_assignment(x, n):
    s = 0.0
    for i in range(n):
        if i > 1:
            if x > 10.0:
                break
            t = x * i
        else:
            t = x
        s += t * t
    return s


@pytest.mark.parametrize("fn, args", [
    (early_return_nested, (-0.5, 1.0)), (early_return_nested, (-0.5, 0.5)),
    (early_return_nested, (0.5, 0.5)), (early_return_nested_else, (-0.5, 1.0)),
    (early_return_nested_else, (-0.5, 0.25)), (early_return_nested_else, (1.5, 0.25)),
    (break_before_assignment, (0.7, 5)), (break_before_assignment, (11.0, 5)),
])
def test_name_bound_on_every_path_that_reaches_its_use(fn, args):
    expected = fn(*args)
    assert srcad.interpret(fn, *args) == pytest.approx(expected, rel=1e-14)
    assert srcad.differentiate(fn)(*args) == pytest.approx(expected, rel=1e-14)
    check_grads(fn, args, backend="numba")


# ----------------------------------------------------------------------------- arguments

def same_twice(a, b):
    a[0] = 5.0
    return np.sum(b)


def same_twice_aug(a, b, x):
    a *= x
    b += 1.0
    return np.sum(a * b)


def same_twice_read(a, b):
    return np.sum(a * b)


@pytest.mark.parametrize("fn, extra", [(same_twice, ()), (same_twice_aug, (0.5,))])
def test_same_array_for_two_parameters(fn, extra):
    """Python: the same array passed for a and b is one array; a write through one name is
    seen through the other, and the caller's array holds both writes afterwards."""
    x = np.array([1.0, 2.0, 3.0])
    xp = x.copy()
    expected = fn(xp, xp, *extra)
    for run in (srcad.differentiate(fn), lambda *a: srcad.interpret(fn, *a)):
        xs = x.copy()
        assert run(xs, xs, *extra) == pytest.approx(expected, rel=1e-14)
        np.testing.assert_allclose(xs, xp, rtol=1e-14)
    # separate arrays still get separate treatment from the same compiled object
    a, b = x.copy(), x.copy()
    assert srcad.differentiate(fn)(a, b, *extra) == pytest.approx(fn(x.copy(), x.copy(),
                                                                     *extra), rel=1e-14)


def test_same_array_twice_in_a_derivative_is_an_error():
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(srcad.SrcadValueError, match=r"test_aliasing\.py:\d+:\d+.*same array "
                       r"for 'a' and 'b'"):
        srcad.grad(same_twice_aug, argnums=2)(x, x, 0.5)
    with pytest.raises(srcad.SrcadValueError, match="overlapping views"):
        srcad.differentiate(same_twice)(x[1:], x[:-1])
    # a function that writes nothing may be given one array twice
    assert srcad.differentiate(same_twice_read)(x, x) == pytest.approx(np.sum(x * x))
    np.testing.assert_allclose(srcad.grad(same_twice_read, argnums=(0, 1))(x, x), (x, x))


# ----------------------------------------------------------------------------- in-place copies

def exit_then_two_writes(a, x, n):
    for i in range(n):
        if i > 0:
            a[:, 1] = x
        else:
            break
        a[1] *= 0.8
        a[:, 1] += 0.5
    return np.sum(a * a)


def _two_writes(T6, j7):
    T6[j7] = 0.5
    T6[0] = 0.5


def return_then_helper_writes(x, a):
    for i in range(0, 4, 3):
        if a.size:
            return 1.16 * x
        a[i // 2] -= 0.5
        _two_writes(a, i)
    return x


def data_exit_then_helper_writes(x, a):
    for i in range(0, 4, 3):
        if x > 0.5:
            return 1.16 * x
        a[i // 2] -= 0.5 * x
        _two_writes(a, i)
    return x + np.sum(a * a)


@pytest.mark.parametrize("fn, args", [
    (exit_then_two_writes, (np.array([[-0.13, 0.71, -0.62], [-0.56, -0.67, 1.06],
                                      [-1.21, -0.79, -1.33]]), -0.19, 2)),
    (exit_then_two_writes, (np.array([[-0.13, 0.71], [-0.56, -0.67]]), 0.3, 1)),
    (return_then_helper_writes, (-0.68, np.array([1.35, -1.12, -1.33, -1.39]))),
    (data_exit_then_helper_writes, (0.2, np.array([1.35, -1.12, -1.33, -1.39]))),
    (data_exit_then_helper_writes, (0.7, np.array([1.35, -1.12, -1.33, -1.39]))),
])
def test_copies_for_writes_after_an_exit(fn, args):
    """A write into a value made inside a branch by an earlier write: the copy that protects
    it belongs in that branch (the generated code used a name the branch had not defined)."""
    py = _copies(args)
    expected = fn(*py)
    given = _copies(args)
    assert srcad.differentiate(fn)(*given) == pytest.approx(expected, rel=1e-13)
    for a, b in zip(given, py):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-13)
    check_grads(fn, _copies(args), backend="numba")


def aug_beyond(x, v):
    y = x * 1.0
    y += v
    return np.sum(y)


def test_aug_assign_result_beyond_the_array_is_a_located_value_error():
    """NumPy refuses x += v when v broadcasts beyond x (x (1, 3), v (2, 3))."""
    x, v = np.ones((1, 3)), np.ones((2, 3))
    with pytest.raises(ValueError, match="non-broadcastable output operand"):
        aug_beyond(x, v)
    for run in (srcad.differentiate(aug_beyond), srcad.grad(aug_beyond),
                lambda *a: srcad.interpret(aug_beyond, *a)):
        with pytest.raises(srcad.SrcadValueError, match=r"test_aliasing\.py:\d+:\d+: "
                           r"non-broadcastable output operand with shape \(1,3\)"):
            run(x.copy(), v.copy())
    assert srcad.differentiate(aug_beyond)(np.ones((2, 3)), v) == pytest.approx(12.0)
