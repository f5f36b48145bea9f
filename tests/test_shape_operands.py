"""Shape-only operands (srcad/passes/shapes.py): ``expand_like``, ``unbroadcast``,
``zeros_like``, ``dim`` read an earlier value of provably the same shape, so an elementwise
result is not kept alive (or materialized by a fused loop) just for its shape.  Broadcasting
of two different arrays is never assumed away: an elementwise result of several arrays read
only for its shape becomes ``bcast_like``, a stride-0 view with their broadcast shape.
Gradients still match finite differences."""
import numpy as np
import pytest

import srcad
from srcad.api import Spec, as_differentiable, build_ir
from srcad.ir.core import Builder, Function, Op, Region, Value
from srcad.ir.types import Type, type_of_python_value
from srcad.passes import shape_operands
from srcad.testing import check_grads, nrt_allocations


def squares(Y):
    return np.sum(0.5 * np.sum(Y * Y, axis=1))


def unary_chain(x):
    return np.sum(np.sin(np.exp(-x)) * 3.0)


def broadcast_product(a, B):
    return np.sum(np.sum(a * B, axis=1) ** 2)


def write_after_shape(x):
    v = np.sin(x) + x  # two arrays: the shape chase stops at v
    w = np.exp(v)
    v[0] = 1.0
    s = np.ones_like(w)
    return np.sum(w * s) + np.sum(v * v)


def _grad_ir(f, *args):
    d = as_differentiable(f)
    argnums = tuple(range(len(args)))
    return build_ir(d, Spec("grad", argnums), tuple(type_of_python_value(a) for a in args)).ir


def _like_producers(ir, prim):
    """The producing primitive (or None for parameters) of each shape operand of ``prim``."""
    producer = {o: op for op in ir.body.walk() for o in op.outputs}
    k = {"expand_like": 1, "unbroadcast": 1, "zeros_like": 0, "dim": 0}[prim]
    out = []
    for op in ir.body.walk():
        if op.prim == prim:
            p = producer.get(op.inputs[k])
            out.append(None if p is None else p.prim)
    return out


def test_expand_like_reads_the_operand_of_the_square():
    Y = np.random.default_rng(0).standard_normal((5, 3))
    ir = _grad_ir(squares, Y)
    likes = _like_producers(ir, "expand_like")
    assert likes and "mul" not in likes
    # Y*Y is only summed: the gradient never writes it to an array
    src = srcad.show(squares, Y).split("# --- generated Python ---")[1]
    assert src.count("np.empty((_n0, _n1)") == 1  # the gradient itself
    check_grads(squares, (Y,), modes=("fwd", "rev"))


def test_chain_of_unary_and_scalar_ops_reaches_the_argument():
    x = np.random.default_rng(1).uniform(-1, 1, 7)
    ir = _grad_ir(unary_chain, x)
    assert _like_producers(ir, "expand_like") == [None]  # the argument x itself
    check_grads(unary_chain, (x,), modes=("fwd", "rev"))


def test_real_broadcasting_is_not_rewritten():
    rng = np.random.default_rng(2)
    a, B = rng.standard_normal((4, 1)), rng.standard_normal((4, 3))
    ir = _grad_ir(broadcast_product, a, B)
    # sum(a * B, axis=1)'s adjoint broadcasts to the shape of a * B, which is neither a's
    # nor B's in general: it must still read the product
    assert "mul" in _like_producers(ir, "expand_like")
    check_grads(broadcast_product, (a, B), modes=("fwd", "rev"))
    check_grads(broadcast_product, (a, B), modes=("rev",), backend="interpret")


def test_shape_read_after_a_write_needs_no_copy():
    """``np.ones_like(w)`` with ``w = exp(v)`` reads v's shape after ``v[0] = 1``: a write never
    changes a shape, so the in-place pass must not copy v for it."""
    x = np.random.default_rng(3).uniform(-1, 1, 6)
    d = as_differentiable(write_after_shape)
    ir = build_ir(d, Spec("primal", ()), (type_of_python_value(x),)).ir
    assert not any(op.prim == "copy" for op in ir.body.walk())
    assert srcad.differentiate(write_after_shape)(x.copy()) == pytest.approx(
        write_after_shape(x.copy()), rel=1e-12)
    check_grads(write_after_shape, (x.copy(),), modes=("fwd", "rev"))


def _fn(build):
    x = Value(Type("f64", 1), "x")
    y = Value(Type("f64", 1), "y")
    body = Region(params=[x, y])
    body.yields = list(build(Builder(body), x, y))
    return Function("f", body)


def test_dtype_is_kept_where_the_result_type_depends_on_it():
    """``zeros_like`` of a comparison stays bool (not a float zeros_like of its operand); the
    ``dim`` of it reads the operand."""
    def build(b, x, y):
        c = b.gt(x, b.const(0.0))
        return [b.zeros_like(c), b.dim(c, axis=0), b.dim(b.add(x, y), axis=0)]
    fn = _fn(build)
    assert shape_operands(fn)
    ops = {op.outputs[0]: op for op in fn.body.ops}
    zl, dim_c, dim_xy = (ops[v] for v in fn.body.yields)
    assert ops.get(zl.inputs[0]).prim == "gt"
    assert dim_c.inputs[0] is fn.params[0]
    # x + y: two arrays, read only for its shape: their broadcast shape, not the sum
    stand_in = ops.get(dim_xy.inputs[0])
    assert stand_in.prim == "bcast_like" and stand_in.inputs == fn.params
    assert stand_in.params["dtype"] == "f64"
    assert not any(op.prim == "add" for op in fn.body.ops)
    assert not shape_operands(fn)  # a fixpoint


def test_same_value_operands_and_scalars():
    def build(b, x, y):
        sq = b.mul(x, x)
        t = b.sub(b.const(1.0), b.exp(sq))
        return [b.expand_like(b.const(2.0), t), b.unbroadcast(b.mul(y, y), b.neg(t))]
    fn = _fn(build)
    assert shape_operands(fn)
    ops = {op.outputs[0]: op for op in fn.body.ops}
    ex, ub = (ops[v] for v in fn.body.yields)
    assert ex.inputs[1] is fn.params[0] and ub.inputs[1] is fn.params[0]


def test_fewer_allocations_in_the_gradient():
    """Y*Y (n x d) was allocated for its shape alone (4 allocations before)."""
    Y = np.random.default_rng(4).standard_normal((50, 4))
    g = srcad.grad(squares)
    g(Y)
    # the row sums, the cotangent per row, the gradient: nothing else of size n x d
    assert nrt_allocations(g, (Y,)) <= 3
    np.testing.assert_allclose(g(Y), Y, rtol=1e-12)


def scaled_update(s0, w, e):
    """``s = s * w[k] + e``: the add's adjoint sums ``s_bar`` down to the shape of
    ``s * w[k]``, a product of two arrays that the adjoint loop used to recompute for that."""
    s = np.sqrt(s0)
    for k in range(w.shape[0]):
        s = s * w[k] + np.exp(e * k)
    return np.sum(np.log(s))


@pytest.mark.parametrize("backend", ["numba", "interpret"])
def test_loop_adjoint_reads_the_broadcast_shape_not_the_product(backend):
    rng = np.random.default_rng(5)
    s0, w, e = rng.uniform(0.5, 1.5, 6), rng.uniform(0.5, 1.5, (4, 6)), rng.uniform(-1, 1, 6)
    ir = _grad_ir(scaled_update, s0, w, e)
    assert "bcast_like" in _like_producers(ir, "unbroadcast")
    src = srcad.show(scaled_update, s0, w, e).split("# --- generated Python ---")[1]
    adjoint = src.split("# adjoint of line")[1:]
    assert any("np.broadcast_to(" in part for part in adjoint)
    check_grads(scaled_update, (s0, w, e), modes=("fwd", "rev"), backend=backend)


def products_broadcast_in_the_sum(a, b, c):
    """``a * b`` is smaller than the sum (it broadcasts against c): its cotangent really sums,
    down to the broadcast shape of a and b."""
    return np.sum(np.sin(a * b + c) * c)


@pytest.mark.parametrize("shapes", [((3, 1), (3, 1), (1, 4)), ((3, 1), (1, 1), (3, 4)),
                                    ((1, 4), (3, 1), (3, 4)), ((4,), (3, 1), (1, 4)),
                                    ((3, 4), (3, 4), (3, 4))])
@pytest.mark.parametrize("backend", ["numba", "interpret"])
def test_broadcast_shape_stand_in_sums_correctly(shapes, backend):
    rng = np.random.default_rng(6)
    args = tuple(rng.uniform(-1, 1, s) for s in shapes)
    check_grads(products_broadcast_in_the_sum, args, modes=("fwd", "rev"), backend=backend)


@pytest.mark.parametrize("dtype,view", [("f64", True), ("f64", False), ("f32", False),
                                        ("i64", False), ("bool", False)])
@pytest.mark.parametrize("x_first", [True, False])
def test_bcast_like_compiled_matches_the_interpreter(dtype, view, x_first):
    """The generated stand-in has the broadcast shape and the dtype of the value it stands
    in for (``zeros_like`` of it keeps that dtype): a view of x (float64) or of a zero."""
    from srcad.codegen import generate_module, load_function
    from srcad.ir import interpret

    x = Value(Type("f64", 2), "x")
    y = Value(Type("f32", 1), "y")
    body = Region(params=[x, y])
    b = Builder(body)
    out = Value(Type(dtype, 2), "s")
    ins = [x, y] if x_first else [y, x]
    b.append(Op("bcast_like", ins, [out], {"dtype": dtype, "ranks": tuple(
        v.type.ndim for v in ins), "view": view and x_first}))
    body.yields = [b.zeros_like(out), b.dim(out, axis=0), b.dim(out, axis=1)]
    stem = f"test_bcast_like_{dtype}_{int(view)}_{int(x_first)}"
    fn = Function(stem, body)
    compiled = load_function(generate_module(fn, stem, (0, 1, 2), "bcast_like test"), stem)
    for xs, ys in (((3, 1), (4,)), ((3, 4), (1,)), ((1, 1), (5,)), ((2, 3), (3,))):
        args = (np.ones(xs), np.ones(ys, np.float32))
        want = np.zeros(np.broadcast_shapes(xs, ys), Type(dtype).np_dtype)
        for got in (compiled(*args), interpret(fn, *args)):
            z, n0, n1 = got
            assert z.shape == want.shape and z.dtype == want.dtype and not z.any()
            assert (n0, n1) == want.shape
