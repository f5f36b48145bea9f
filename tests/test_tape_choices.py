"""Memory traffic of reverse mode: what the adjoint recomputes, what it tapes, what it copies.

* Sums of arrays are taped, not recomputed: recomputing ``sum(Z * Z, axis=1)`` in the adjoint
  loop reads the whole (n, d) operand again for an (n,) result (srcad/ad/reverse.py, ``_plan``).
* A cotangent handed to an adjoint loop is copied only when something else may read it
  (srcad/passes/copies.py): a fresh array read by nothing but the copy is used as it is.
* A write into an ``unbroadcast`` result copies it first: the generated code returns the
  operand itself when no summing is needed (srcad/passes/inplace.py).
* Reads of parts of a row ``r = W[k]`` (``r[:2]``, ``r[j]``) add their cotangents straight into
  W's adjoint (``W_bar[k, :2] += ...``), with no zero-filled adjoint buffer for the row.
* An element read inside a branch in a loop adds its cotangent into the loop's adjoint buffer
  (``x_bar[i - 1] += ...`` in the adjoint ``if``), with no zero array per iteration.

Gradients are checked against central finite differences, compiled and interpreted."""
import numpy as np
import pytest

import srcad
from srcad.api import Spec, as_differentiable, build_ir
from srcad.ir.types import type_of_python_value
from srcad.testing import check_grads, nrt_allocations


def running_max(X, W):
    m = np.sum(X * X, axis=1)
    for k in range(W.shape[0]):
        Z = X * W[k]
        t = np.sum(Z * Z, axis=1)
        m = np.maximum(m, t)
    return np.sum(m)


def carried(x, w):
    s = np.exp(x)
    for k in range(w.shape[0]):
        s = s * w[k] + x[k]
    return np.sum(np.log(s)) + np.sum(x * x)


def shared_cotangent(x, w):
    """The loop result's cotangent is also x's (``s + x``), and the adjoint loop adds into s's
    adjoint in place (``s[k]``): that cotangent must be copied."""
    s = x * 1.5
    for k in range(w.shape[0]):
        s = s * w[k] + s[k]
    return np.sum(np.sin(s + x))


def row_parts(W, v):
    total = 0.0
    for k in range(W.shape[0]):
        r = W[k]
        total = total + np.sum(r[:2] * r[:2]) + np.sum(np.exp(r[2:])) * r[1] + v[k] * r[0]
    row = W[0]
    return total + np.sum(np.sin(row)) + row[2] * v[0]


def write_then_broadcast(x, z, u):
    """Adjoint of the write: ``y_bar[1, 1] = 0`` in place.  y_bar and z_bar are unbroadcasts
    of one cotangent; when u's (1, 3) shape makes the fused loop fall back to NumPy,
    ``_rt.unbroadcast`` returns that cotangent itself, so the write must go to a copy."""
    y = x * 2.0
    y[1, 1] = 0.0
    w = y + z + u
    return np.sum(np.sin(w))


def _grad_ir(f, args):
    d = as_differentiable(f)
    types = tuple(type_of_python_value(a) for a in args)
    return build_ir(d, Spec("grad", tuple(range(len(args)))), types).ir


def _adjoint_loop(ir):
    return next(op for op in ir.body.ops if op.prim == "for" and op.params.get("adjoint"))


def _args(name):
    rng = np.random.default_rng(7)
    if name == "running_max":
        return rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    if name == "write_then_broadcast":
        return rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((1, 3))
    if name == "row_parts":
        return rng.standard_normal((3, 5)), rng.standard_normal(3)
    return rng.uniform(0.5, 1.0, 5), rng.uniform(0.5, 1.0, 4)


def test_sums_are_taped_not_recomputed():
    args = _args("running_max")
    ir = _grad_ir(running_max, args)
    body = _adjoint_loop(ir).regions[0]
    assert not [op for op in body.walk() if op.prim == "sum" and op.inputs[0].type.ndim == 2]
    pops = [op.outputs[0].type.ndim for op in body.ops if op.prim == "pop"]
    assert pops and max(pops) == 1  # the row sums (and the running max), never (n, d) arrays


@pytest.mark.parametrize("backend", ["numba", "interpret"])
@pytest.mark.parametrize("name", ["running_max", "carried", "shared_cotangent", "row_parts",
                                  "write_then_broadcast"])
def test_gradients(name, backend):
    f = globals()[name]
    check_grads(f, _args(name), modes=("rev",), backend=backend)


def test_fresh_cotangent_is_not_copied():
    args = _args("carried")
    ir = _grad_ir(carried, args)
    assert not [op for op in ir.body.walk() if op.prim == "copy"]
    g = srcad.grad(carried, argnums=(0, 1))
    g(*args)
    # exp(x), x*x, 1/s and the two adjoint buffers (the loop's own temporaries aside)
    assert nrt_allocations(g, args) <= 5 + 4 * len(args[1])


def test_shared_cotangent_is_copied():
    ir = _grad_ir(shared_cotangent, _args("shared_cotangent"))
    loop = _adjoint_loop(ir)
    producer = {o: op for op in ir.body.walk() for o in op.outputs}
    inits = [producer.get(x) for x in loop.inputs[3:]]
    assert "copy" in [op.prim for op in inits if op is not None]


def test_row_parts_add_into_the_matrix_adjoint():
    args = _args("row_parts")
    ir = _grad_ir(row_parts, args)
    ops = list(ir.body.walk())
    # the only zero-filled buffers are the adjoints of W and v themselves
    assert sorted(op.inputs[0].name for op in ops if op.prim == "zeros_like") == ["W", "v"]
    assert not [op for op in ops if op.prim == "slice_add"]
    assert [op for op in ops if op.prim == "put_add"]


def test_row_parts_second_order():
    check_grads(row_parts, _args("row_parts"), order=2, backend="interpret")


# ------------------------------------------------------------ shallow matrix products
def products_in_loop(X, W):
    """Y is needed by the adjoint of Y * Y and sin(Y): taped when the product is deep
    (W.shape[1] > RECOMPUTE_DEPTH), recomputed in the adjoint loop when it is shallow."""
    total = 0.0
    for k in range(W.shape[0]):
        Y = (X - W[k, 0, 0]) @ W[k]
        total = total + np.sum(Y * Y) * 0.5 + np.sum(np.sin(Y))
    return total


@pytest.mark.parametrize("depth", [3, srcad.ad.reverse.RECOMPUTE_DEPTH,
                                   srcad.ad.reverse.RECOMPUTE_DEPTH + 1])
def test_shallow_products_are_recomputed_deep_ones_taped(depth):
    rng = np.random.default_rng(depth)
    n, m, K = 40, 6, 3
    X = rng.standard_normal((n, depth))
    W = 0.3 * rng.standard_normal((K, depth, m))
    for backend in ("numba", "interpret"):
        check_grads(products_in_loop, (X, W), modes=("fwd", "rev"), order=2, backend=backend)
    g = srcad.differentiate(products_in_loop).grad(X, W)
    for checkpoint in (True, 2):  # the re-run segments make the same choice
        gc = srcad.differentiate(products_in_loop, checkpoint=checkpoint).grad(X, W)
        for a, b in zip(g, gc):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
    # the choice is made at run time, on the product's depth: both sweeps test it
    src = srcad.show(products_in_loop, X, W, argnums=(0, 1))
    test = f" > {srcad.ad.reverse.RECOMPUTE_DEPTH}\n"  # on the product's a.shape[1]
    assert src.count(test) >= 2 and "np.full((0, 0,), 0.0, np.float64)" in src


def branchy(x):
    s = 0.0
    for i in range(1, x.shape[0]):
        if x[i] > 0.0:
            s += x[i - 1] * x[i]
    return s


def test_element_reads_in_a_branch_allocate_nothing_per_iteration():
    """The adjoint if updates the loop's x_bar in place: the gradient's allocations do not
    grow with the trip count (it made and added a zeros_like(x) per iteration: quadratic)."""
    rng = np.random.default_rng(3)
    small, big = rng.standard_normal(8), rng.standard_normal(400)
    g = srcad.grad(branchy)
    g(small)
    assert nrt_allocations(g, (small,)) == nrt_allocations(g, (big,))
    for backend in ("numba", "interpret"):
        check_grads(branchy, (small,), backend=backend)


def loop_in_branch(a, n, x, A):
    if x <= 0.46:
        for i in range(2, 3):
            A[i] -= a[0]
    A[:] = a[n]
    return np.sum(A * A)


@pytest.mark.parametrize("x", [-0.4, 0.9])
@pytest.mark.parametrize("backend", ["numba", "interpret"])
def test_loop_in_an_adjoint_branch_keeps_the_adjoint_before_it(x, backend):
    """A loop inside a branch threads a's adjoint through the branch: it starts from the
    adjoint accumulated after the if (the branch started from zeros and lost it: found by the
    fuzzer in the first version of the threading)."""
    args = (np.array([1.5, 0.5, 0.8]), 2, x, np.array([[1.4, -1.3], [-0.6, 0.9], [1.1, -1.0]]))
    check_grads(loop_in_branch, args, backend=backend)
    g = srcad.grad(loop_in_branch, argnums=0)(*[v.copy() if isinstance(v, np.ndarray) else v
                                                for v in args])
    np.testing.assert_allclose(g, [0.0, 0.0, 2 * 0.8 * 6], rtol=1e-14)
