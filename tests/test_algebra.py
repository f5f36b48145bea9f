"""Algebraic rewrites (srcad/passes/algebra.py): sums of matrix products become
vector-matrix products (``sum(A @ B, axis=0) -> sum(A, axis=0) @ B``), also through ``neg`` and
scalar ``mul``, and only where nothing else reads the product.  Values and gradients are
checked against NumPy, the interpreter and central finite differences."""
import numpy as np
import pytest

import srcad
from srcad.api import Spec, as_differentiable, build_ir
from srcad.ir.types import type_of_python_value
from srcad.testing import check_grads


def centered_product(mu, X, Q):
    """The GMM pattern: the adjoint of mu is -sum(Y_bar @ Q, axis=0)."""
    Y = (X - mu) @ Q.T
    return np.sum(np.sin(Y))


def row_and_column_sums(A, B):
    P = A @ B
    return np.sum(np.sum(P, axis=0) ** 2) + np.sum(np.cos(np.sum(-2.0 * (A @ B), axis=1)))


def product_used_twice(A, B):
    P = A @ B
    return np.sum(np.sum(P, axis=0) ** 2) + np.sum(P * P)


def _ops(f, args, argnums):
    d = as_differentiable(f)
    ir = build_ir(d, Spec("grad", argnums), tuple(type_of_python_value(a) for a in args)).ir
    return [(op.prim, tuple(v.type.ndim for v in op.inputs)) for op in ir.body.walk()]


def _args(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(s) for s in shapes)


def test_adjoint_of_broadcast_vector_is_a_vector_matrix_product():
    args = _args([(3,), (7, 3), (3, 3)])
    ops = _ops(centered_product, args, (0,))
    # the products left: Y in the primal, and sum(Y_bar, axis=0) @ Q for mu; no (7, 3) x (3, 3)
    # matrix product for mu_bar
    assert ops.count(("dot", (2, 2))) == 1
    assert ("dot", (1, 2)) in ops
    check_grads(centered_product, args, modes=("fwd", "rev"))


def test_row_and_column_sums_through_scalar_factors():
    args = _args([(5, 4), (4, 6)], seed=1)
    f = srcad.differentiate(row_and_column_sums)
    assert f(*args) == pytest.approx(row_and_column_sums(*args), rel=1e-12)
    ops = _ops(row_and_column_sums, args, (0, 1))
    assert ("dot", (1, 2)) in ops and ("dot", (2, 1)) in ops
    g = srcad.grad(row_and_column_sums, argnums=(0, 1))(*args)
    _, pullback = srcad.vjp(row_and_column_sums, *args, backend="interpret")
    for x, y in zip(g, pullback(1.0)):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-12)
    check_grads(row_and_column_sums, args, modes=("fwd", "rev"))


def test_product_read_elsewhere_is_kept():
    """P is also squared: summing A first would add work, so the product stays."""
    args = _args([(5, 4), (4, 6)], seed=2)
    assert ("dot", (1, 2)) not in _ops(product_used_twice, args, (0, 1))
    check_grads(product_used_twice, args, modes=("fwd", "rev"))


def test_runtime_length_one_target_still_sums():
    """mu of length 1 broadcast against 3 columns: what is left of the unbroadcast sums."""
    rng = np.random.default_rng(3)
    mu, X, Q = rng.standard_normal(1), rng.standard_normal((6, 3)), rng.standard_normal((3, 3))
    assert srcad.differentiate(centered_product)(mu, X, Q) == pytest.approx(
        centered_product(mu, X, Q), rel=1e-12)
    check_grads(centered_product, (mu, X, Q), modes=("fwd", "rev"))
