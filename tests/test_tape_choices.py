"""Memory traffic of reverse mode: what the adjoint recomputes, what it tapes, what it copies.

* Sums of arrays are taped, not recomputed: recomputing ``sum(Z * Z, axis=1)`` in the adjoint
  loop reads the whole (n, d) operand again for an (n,) result (srcad/ad/reverse.py, ``_plan``).
* A cotangent handed to an adjoint loop is copied only when something else may read it
  (srcad/passes/copies.py): a fresh array read by nothing but the copy is used as it is.

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
    return rng.uniform(0.5, 1.0, 5), rng.uniform(0.5, 1.0, 4)


def test_sums_are_taped_not_recomputed():
    args = _args("running_max")
    ir = _grad_ir(running_max, args)
    body = _adjoint_loop(ir).regions[0]
    assert not [op for op in body.walk() if op.prim == "sum" and op.inputs[0].type.ndim == 2]
    pops = [op.outputs[0].type.ndim for op in body.ops if op.prim == "pop"]
    assert pops and max(pops) == 1  # the row sums (and the running max), never (n, d) arrays


@pytest.mark.parametrize("backend", ["numba", "interpret"])
@pytest.mark.parametrize("name", ["running_max", "carried", "shared_cotangent"])
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
