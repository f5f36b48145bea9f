"""The NumPy library beyond the first array slice (srcad/frontend/library.py,
srcad/primitives/library.py): np.prod, x.dtype, creation functions, integer gathers, boolean
masks feeding reductions, batched matmul, np.inner on 2-D, np.linalg.norm with axis/ord.

Each feature is compared with CPython, and its derivatives (forward, reverse, and forward over
reverse) with central finite differences, in the interpreter; one case per feature also goes
through Numba."""
import numpy as np
import pytest

import srcad
from srcad.errors import UnsupportedCallError, UnsupportedSyntaxError
from srcad.ir import interpret
from srcad.ir.types import type_of_python_value
from srcad.testing import check_grads


def _check(f, args, compiled=False, order=2):
    """Value against CPython and derivatives against finite differences, interpreted (all
    modes, to second order); ``compiled``: also the Numba primal and reverse mode (compiling
    is what takes the time here)."""
    expected = f(*args)
    np.testing.assert_allclose(srcad.interpret(f, *args), expected, rtol=1e-12, atol=1e-14)
    check_grads(f, args, modes=("fwd", "rev"), order=order, backend="interpret")
    if compiled:
        np.testing.assert_allclose(srcad.differentiate(f)(*args), expected, rtol=1e-12,
                                   atol=1e-14)
        check_grads(f, args, modes=("rev",))


def _grad(f, *args):
    """Reverse-mode gradient w.r.t. the first argument, interpreted (no compile)."""
    _, pullback = srcad.vjp(f, *args, backend="interpret")
    g = pullback(1.0)
    return g[0] if isinstance(g, tuple) else g


def _interpret_ir(f, *args):
    """The interpreter on f's IR (srcad.interpret returns numbers only)."""
    d = srcad.differentiate(f)
    return interpret(d.lower(tuple(type_of_python_value(a) for a in args)), *args)


# ----------------------------------------------------------------------------- prod

def prod_all(x):
    return np.prod(x)


def prod_axis0(x):
    return np.sum(np.sin(np.prod(x, axis=0)))


def prod_axis1_keep(x):
    return np.sum(np.sin(x.prod(axis=1, keepdims=True)) * x)


def prod_1d_axis(x):
    return np.prod(x, axis=0) * 2.0 + x.prod()


def _others(x, axis=None):
    """Product of the other elements along axis, by brute force (no division)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    if axis is None:
        flat = x.ravel()
        for i in range(flat.size):
            out.flat[i] = np.prod(np.delete(flat, i))
        return out
    for idx in np.ndindex(*x.shape):
        line = x[idx[0], :] if axis == 1 else x[:, idx[1]]
        out[idx] = np.prod(np.delete(line, idx[axis]))
    return out


PROD_POINTS = {
    "no-zero": np.array([[0.7, -1.3, 1.1], [0.4, 1.6, -0.9]]),
    "one-zero": np.array([[0.7, 0.0, 1.1], [0.4, 1.6, -0.9]]),
    "two-zeros": np.array([[0.7, 0.0, 1.1], [0.0, 1.6, -0.9]]),
    "three-zeros": np.array([[0.0, 0.0, 1.1], [0.0, 1.6, -0.9]]),
}


@pytest.mark.parametrize("name", sorted(PROD_POINTS))
def test_prod_gradient_with_zeros(name):
    x = PROD_POINTS[name]
    g = _grad(prod_all, x)
    np.testing.assert_allclose(g, _others(x), rtol=1e-14, atol=0)
    assert np.all(np.isfinite(g))
    _check(prod_all, (x,))
    if name == "two-zeros":  # compiled, forward over reverse included
        np.testing.assert_allclose(srcad.differentiate(prod_all).grad(x), _others(x), rtol=1e-14)
        check_grads(prod_all, (x,), modes=("fwd", "rev"), order=2)


def test_prod_axis_gradient_with_zeros():
    x = PROD_POINTS["two-zeros"]

    def expected_grad(axis):
        return _others(x, axis)

    def sum_prod0(x):
        return np.sum(np.prod(x, axis=0))

    def sum_prod1(x):
        return np.sum(np.prod(x, axis=1))

    col_zeros = np.array([[0.0, 2.0], [0.0, 3.0], [1.5, 0.0]])  # axis 0: one column two zeros
    np.testing.assert_allclose(_grad(sum_prod0, x), expected_grad(0), rtol=1e-14)
    np.testing.assert_allclose(_grad(sum_prod1, x), expected_grad(1), rtol=1e-14)
    np.testing.assert_allclose(_grad(sum_prod0, col_zeros), _others(col_zeros, 0), rtol=1e-14)
    for f in (prod_axis0, prod_axis1_keep):
        _check(f, (x,))
    _check(prod_1d_axis, (np.array([0.5, 0.0, -1.5, 2.0]),))


def test_prod_hessian_with_zeros():
    """Forward over reverse: the Hessian of prod is exact with one or two zeros too."""
    for x in (np.array([0.7, 0.0, 1.1, -0.8]), np.array([0.7, 0.0, 1.1, 0.0]),
              np.array([0.0, 0.0, 1.1, 0.0])):
        n = x.size
        h = np.stack([srcad.hvp(prod_all, (x,), (np.eye(n)[k],), backend="interpret")
                      for k in range(n)])
        expected = np.array([[0.0 if i == j else np.prod(np.delete(x, [i, j]))
                              for j in range(n)] for i in range(n)])
        np.testing.assert_allclose(h, expected, rtol=1e-14, atol=0)


def prod_int(k):
    return np.prod(k) * 1.5


def test_prod_of_ints():
    k = np.array([2, 3, -4])
    assert srcad.differentiate(prod_int)(k) == prod_int(k)


# ----------------------------------------------------------------------------- dtype

def zeros_of_dtype(x):
    z = np.zeros(3, dtype=x.dtype)
    w = np.zeros_like(x, dtype=x.dtype)
    e = np.empty_like(x)
    return np.sum(w + x) + np.sum(z) + e.shape[0], z


def test_dtype_attribute():
    for dt in (np.float64, np.float32):
        x = np.array([0.5, 1.5], dtype=dt)
        total, z = srcad.differentiate(zeros_of_dtype)(x)
        assert z.dtype == dt and total == pytest.approx(4.0)
        _, zi = _interpret_ir(zeros_of_dtype, x)
        assert zi.dtype == dt


# ----------------------------------------------------------------------------- creation

def creation(a, b):
    e = np.full(5, a)
    lin = np.linspace(a, b, 5)
    r = np.arange(a, b, 0.5)
    k = np.arange(5)
    k2 = np.arange(1, 9, 3)
    s = np.array([a, b, a * b])
    m = np.array([[a, b], [b, a * a]])
    f = np.full_like(lin, b)
    z = np.empty(3) * 0.0
    return (np.sum(e * lin) + np.sum(r * r) + np.sum(k * a) + np.sum(k2) * b + np.sum(s * s)
            + np.sum(m @ m) + np.sum(f * lin) + np.sum(z) + np.sum(np.linspace(b, a, 4) ** 2))


def creation_values(a, b, n):
    return (np.arange(n), np.arange(a, b), np.arange(b, a, -0.75), np.linspace(a, b, n),
            np.linspace(a, b, n, endpoint=False), np.full((2, n), b), np.array([a, 2.0, b]),
            np.array([[1, 2], [3, 4]]), np.full(n, 3))


def test_creation():
    _check(creation, (0.7, 3.1))
    _check(creation, (-1.2, 0.4))


def test_creation_values():
    for args in ((0.7, 3.1, 4), (-2.0, 1.0, 1)):
        expected = creation_values(*args)
        for got in (_interpret_ir(creation_values, *args),
                    srcad.differentiate(creation_values)(*args)):
            for g, e in zip(got, expected):
                assert np.shape(g) == np.shape(e) and np.asarray(g).dtype == e.dtype
                np.testing.assert_allclose(g, e, rtol=1e-14, atol=1e-15)


def stack_rows(x, y):
    return np.sum(np.array([x, y, x * y]) @ np.array([1.0, 2.0]))


def test_array_of_arrays():
    _check(stack_rows, (np.array([0.5, -1.0]), np.array([2.0, 0.25])))


# ----------------------------------------------------------------------------- gathers

def gather_1d(x, idx):
    return np.sum(np.sin(x[idx]) * np.arange(4))


def gather_rows(x, idx):
    r = x[idx]
    return np.sum(r * r) + np.sum(np.cos(r[:, 0]))


def test_gather_duplicates_accumulate():
    x = np.array([0.3, -0.7, 1.1, 0.2, 0.9])
    idx = np.array([1, 3, 3, -1])
    g = _grad(gather_1d, x, idx)
    expected = np.zeros_like(x)
    np.add.at(expected, idx, np.cos(x[idx]) * np.arange(4))
    np.testing.assert_allclose(g, expected, rtol=1e-14)
    _check(gather_1d, (x, idx), compiled=True)


def test_gather_rows():
    x = np.array([[0.3, -0.7], [1.1, 0.2], [0.9, -0.4]])
    idx = np.array([2, 0, 2, 2])
    _check(gather_rows, (x, idx))


# ----------------------------------------------------------------------------- boolean masks

def masked_reductions(x, m):
    return (np.sum(x[m]) + np.mean(x[m]) * 2.0 + np.max(x[m]) + x[m].sum() + x[m].min()
            + np.amax(x[m]) * x[m].mean())


def masked_rows(x, m):
    return np.sum(np.sin(np.sum(x[m], axis=0))) + np.mean(x[m]) + np.sum(x[m].max(axis=0))


def masked_by_condition(x):
    return np.sum(x[x > 0.0]) * 2.0 + np.mean(x[x < 0.3])


def test_mask_reductions():
    x = np.array([0.1, 0.5, -0.3, 0.9, 0.45])
    m = np.array([True, False, True, True, False])
    _check(masked_reductions, (x, m), compiled=True)
    _check(masked_by_condition, (x,))
    x2 = np.array([[0.1, 0.5, -0.3], [0.9, 0.45, 0.2], [-1.0, 0.3, 0.8], [0.6, -0.2, 0.15]])
    _check(masked_rows, (x2, np.array([True, False, True, True])))
    _check(masked_reductions, (x2, x2 > 0.0))


def mask_assigned(x):
    y = x[x > 0.0]
    return np.sum(y)


def mask_arith(x):
    return np.sum(x[x > 0.0] * 2.0)


def mask_attr(x):
    return x[x > 0.0].shape[0] * 1.0


def mask_other_call(x):
    return np.sum(np.sin(x[x > 0.0]))


@pytest.mark.parametrize("f", [mask_assigned, mask_arith, mask_attr, mask_other_call])
def test_mask_other_uses_are_located_errors(f):
    with pytest.raises(UnsupportedSyntaxError) as e:
        srcad.differentiate(f)(np.array([0.5, -1.0]))
    assert e.value.loc is not None and e.value.loc.filename.endswith("test_library.py")
    assert "x[x > 0.0]" in e.value.loc.text and "np.sum(x[m])" in str(e.value)


# ----------------------------------------------------------------------------- batched matmul

def bmm(a, c):
    return np.sum(np.sin(np.matmul(a, c)))


def bmm_chain(a, c, w):
    h = np.tanh(np.matmul(a, c))  # (b, n, m)
    return np.sum(np.matmul(h, w) ** 2)


def matmul_at(a, c):
    return np.sum(a @ c)


def test_batched_matmul():
    rng = np.random.default_rng(0)
    a, c3, c2 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 2)), \
        rng.standard_normal((4, 2))
    _check(bmm, (a, c3), compiled=True)
    _check(bmm, (a, c2))
    _check(bmm, (rng.standard_normal((3, 4)), c3))
    _check(bmm_chain, (a, c2, rng.standard_normal((2, 3))))
    _check(bmm, (rng.standard_normal((1, 3, 4)), c3))  # the batch broadcasts


def test_matmul_operator_3d():
    a, c = np.ones((2, 3, 4)), np.ones((2, 4, 2))
    assert srcad.interpret(matmul_at, a, c) == matmul_at(a, c)
    assert srcad.differentiate(matmul_at)(a, c) == matmul_at(a, c)
    check_grads(matmul_at, (a, c), backend="interpret")


def matmul_4d(a):
    return np.sum(np.matmul(a, a))


def test_matmul_4d_is_a_located_error():
    with pytest.raises(UnsupportedSyntaxError, match="matmul of a 4-d"):
        srcad.interpret(matmul_4d, np.ones((1, 2, 2, 2)))


# ----------------------------------------------------------------------------- inner, norm

def inner_2d(a, c, v):
    return np.sum(np.inner(a, c)) + np.sum(np.inner(a, v)) + np.sum(np.inner(v, c)) + \
        np.inner(v, v)


def norms(x, v):
    return (np.sum(np.linalg.norm(x, axis=1)) + np.sum(np.linalg.norm(x, axis=0, keepdims=True))
            + np.linalg.norm(x) + np.linalg.norm(v, 1) + np.linalg.norm(v, np.inf)
            + np.linalg.norm(v, ord=2) + np.sum(np.linalg.norm(x, 1, axis=1)))


def matrix_2_norm(x):
    return np.linalg.norm(x, 2)


def test_inner_and_norm():
    rng = np.random.default_rng(1)
    a, c, v = rng.standard_normal((2, 3)), rng.standard_normal((4, 3)), \
        rng.standard_normal(3)
    _check(inner_2d, (a, c, v))
    x = rng.standard_normal((3, 4))
    _check(norms, (x, np.array([0.5, -2.0, 1.0])), compiled=True)
    with pytest.raises(UnsupportedCallError) as e:
        srcad.interpret(matrix_2_norm, x)
    assert e.value.loc is not None and "ord=2" in str(e.value)
