"""Algebraic rewrites (srcad/passes/algebra.py): sums of matrix products become
vector-matrix products (``sum(A @ B, axis=0) -> sum(A, axis=0) @ B``), also through ``neg`` and
scalar ``mul``, and only where nothing else reads the product.  Values and gradients are
checked against NumPy, the interpreter and central finite differences."""
import numpy as np
import pytest

import srcad
from srcad.api import Spec, as_differentiable, build_ir
from srcad.ir.interpreter import interpret
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


def _ir(f, args, spec):
    d = as_differentiable(f)
    return build_ir(d, spec, tuple(type_of_python_value(a) for a in args)).ir


def _ops(f, args, argnums):
    ir = _ir(f, args, Spec("grad", argnums))
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


# ------------------------------------------- products through a row scaling (reassociation)

def mahalanobis_terms(mus, X, Qs):
    """The GMM pattern in a loop: the adjoint recomputes Y = (X - mu) @ Q.T and reads it only
    as c[:, None] * Y, for mu (a column sum) and for Q ((X - mu).T @ that)."""
    total = 0.0
    for k in range(mus.shape[0]):
        Y = (X - mus[k]) @ Qs[k].T
        total = total + np.sum(np.log1p(np.sum(Y * Y, axis=1)))
    return total


def squared_rows(A, B):
    Y = A @ B
    return np.sum(np.log1p(np.sum(Y * Y, axis=1)))


def scaled_product(P, A, B, c):
    return P @ (c[:, None] * (A @ B))


def scaled_column_sum(A, B, c):
    return np.sum(c[:, None] * (A @ B), axis=0)


def sin_of_scaled_product(P, A, B, c):
    return np.sum(np.sin(scaled_product(P, A, B, c)))


def sin_of_scaled_column_sum(A, B, c):
    return np.sum(np.sin(scaled_column_sum(A, B, c)))


def _grad_ir(f, args, argnums):
    return _ir(f, args, Spec("grad", argnums))


def _reassociated(ir) -> bool:
    return any(op.prim == "if" and op.params.get("reassociated") for op in ir.body.walk())


class _Products:
    """Records the (rows, depth, columns) of every 2-D x 2-D product the interpreter runs."""

    def __init__(self, monkeypatch):
        from srcad.primitives import REGISTRY
        self.shapes = []
        impl = REGISTRY["dot"].impl

        def dot(a, b):
            if np.ndim(a) == 2 and np.ndim(b) == 2:
                self.shapes.append((a.shape[0], a.shape[1], b.shape[1]))
            return impl(a, b)
        monkeypatch.setattr(REGISTRY["dot"], "impl", dot)


# (n, d) points, Q of (p, d): which order is cheaper depends on d and p, and d > 16 products
# are taped instead of recomputed (then the old order needs no recomputation)
CHAIN_SHAPES = {"square": (40, 4, 4), "narrow": (40, 12, 2), "deep-wide": (200, 18, 30),
                "deep-square": (30, 18, 18)}


@pytest.mark.parametrize("shape", CHAIN_SHAPES)
def test_gram_reassociation_in_a_loop_adjoint(shape):
    n, d, p = CHAIN_SHAPES[shape]
    rng = np.random.default_rng(4)
    args = (rng.standard_normal((3, d)), rng.standard_normal((n, d)),
            0.3 * rng.standard_normal((3, p, d)))
    assert _reassociated(_grad_ir(mahalanobis_terms, args, (0, 2)))
    g = srcad.grad(mahalanobis_terms, argnums=(0, 2))(*args)
    _, pullback = srcad.vjp(mahalanobis_terms, *args, backend="interpret")
    ref = pullback(1.0)
    for x, y in zip(g, (ref[0], ref[2])):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-12)
    check_grads(mahalanobis_terms, args, modes=("fwd", "rev"))


@pytest.mark.parametrize("shape, reassociated", [("square", True), ("narrow", False),
                                                 ("deep-wide", True), ("deep-square", False)])
def test_gram_reassociation_takes_the_cheaper_order(monkeypatch, shape, reassociated):
    """Which products the adjoint runs: (d, n, d) and (d, d, p) when reassociated, else the
    (n, d, p) recomputation of Y (not when d > 16: Y is taped) and (d, n, p)."""
    n, d, p = CHAIN_SHAPES[shape]
    rng = np.random.default_rng(5)
    args = (rng.standard_normal((2, d)), rng.standard_normal((n, d)),
            0.3 * rng.standard_normal((2, p, d)))
    ir = _grad_ir(mahalanobis_terms, args, (0, 2))
    products = _Products(monkeypatch)
    interpret(ir, *args)
    runs = 2  # iterations; the primal sweep computes Y in each
    if reassociated:
        adjoint = [(d, n, d), (d, d, p)]
    elif d > 16:
        adjoint = [(d, n, p)]
    else:
        adjoint = [(n, d, p), (d, n, p)]
    assert sorted(products.shapes) == sorted(([(n, d, p)] + adjoint) * runs)


def test_no_reassociation_when_the_product_is_there_anyway():
    """Outside a loop the adjoint reads the primal's Y, which exists: nothing to save."""
    args = _args([(20, 4), (4, 4)], seed=6)
    assert not _reassociated(_grad_ir(squared_rows, args, (0, 1)))
    check_grads(squared_rows, args, modes=("fwd", "rev"))


@pytest.mark.parametrize("m, n, k, p", [(3, 50, 4, 4), (3, 50, 8, 1), (1, 1, 3, 2)])
def test_scaled_products_in_user_code(monkeypatch, m, n, k, p):
    P, A, B, c = _args([(m, n), (n, k), (k, p), (n,)], seed=7)
    for f, loss, args, ref in [
            (scaled_product, sin_of_scaled_product, (P, A, B, c), P @ (c[:, None] * (A @ B))),
            (scaled_column_sum, sin_of_scaled_column_sum, (A, B, c),
             np.sum(c[:, None] * (A @ B), axis=0))]:
        ir = _primal_ir(f, args)
        assert _reassociated(ir)
        np.testing.assert_allclose(srcad.differentiate(f)(*args), ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(interpret(ir, *args)[0], ref, rtol=1e-12, atol=1e-12)
        check_grads(loss, args, modes=("fwd", "rev"))
    # (3, 50, 4, 4): P @ (c * (A @ B)) as (P * c) @ A @ B; (3, 50, 8, 1): as written
    products = _Products(monkeypatch)
    interpret(_primal_ir(scaled_product, (P, A, B, c)), P, A, B, c)
    expect = [(m, n, k), (m, k, p)] if m * n * k + m * k * p + m * n < n * k * p + m * n * p \
        else [(n, k, p), (m, n, p)]
    assert products.shapes == expect


def _primal_ir(f, args):
    return _ir(f, args, Spec("primal"))


def test_broadcast_scale_keeps_the_written_order():
    """c of length 1 against 5 rows: c @ A would not conform; the run-time guard keeps the
    original order."""
    rng = np.random.default_rng(8)
    A, B, c = rng.standard_normal((5, 3)), rng.standard_normal((3, 3)), rng.standard_normal(1)
    np.testing.assert_allclose(srcad.differentiate(scaled_column_sum)(A, B, c),
                               np.sum(c[:, None] * (A @ B), axis=0), rtol=1e-12)
    check_grads(sin_of_scaled_column_sum, (A, B, c), modes=("fwd", "rev"))


@pytest.mark.parametrize("write", [False, True])
def test_sinking_into_a_branch_stops_at_an_in_place_write(write):
    """The fallback order's ops move into the else branch, but never past an in-place write
    to an array they read (generated code updates index_add's buffer where it is)."""
    import sys

    from srcad.ir.core import Builder, Op, Region, Value
    from srcad.ir.types import Type
    sink = sys.modules["srcad.passes.algebra"]._sink
    x, cond = Value(Type("f64", 1), "x"), Value(Type("bool", 0), "cond")
    body = Region([x, cond])
    b = Builder(body)
    buf = b.copy(x)
    square = b.mul(buf, buf)  # reads buf
    after = b.index_add(buf, b.const(0), b.const(1.0)) if write else buf
    then, orelse = Region(), Region()
    then.yields = [after]
    orelse.yields = [square]
    out = Value(Type("f64", 1), "out")
    guard = Op("if", [cond], [out], {}, [then, orelse])
    body.ops.append(guard)
    body.yields = [out]
    sink(body, guard, 1)
    moved = [op.prim for op in orelse.ops]
    assert moved == ([] if write else ["mul"])
