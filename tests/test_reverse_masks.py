"""Reverse mode's masked cotangents (issue 13).

The cotangent that ``np.where(m, a, b)`` sends to ``a`` is zero where ``m`` is False; reverse
mode masks the cotangents of the ops that made ``a`` the same way, so that an untaken side's
inf * 0 never becomes NaN (tests/test_arrays.py).  That is only right through pointwise ops,
where the input cotangent at a position depends only on the output cotangent at the positions
broadcast from it.  Through an op that mixes positions (cumsum, flip, transpose, matmul, a
reduction with keepdims, a gather) the mask must stop: these gradients lost contributions."""
import numpy as np
import pytest

from srcad.testing import check_grads


def where_cumsum(c, a, b):
    return np.sum(np.where(a > b, 0.0, np.cumsum(c)))


def where_cumsum_other_side(c, a, b):
    return np.sum(np.where(a > b, np.cumsum(c) * 2.0, np.sin(c)))


def where_cumsum_chain(c, a, b):
    """A pointwise op after the mixing op: the mask may reach the pointwise op, not past it."""
    return np.sum(np.where(a > b, 0.0, np.exp(np.cumsum(np.sin(c)))))


def where_flip(c, a, b):
    return np.sum(np.where(a > b, 0.0, np.flip(c) * c[0]))


def where_transpose(X, M):
    return np.sum(np.where(M > 0.0, 0.0, X.T))


def where_matmul(A, c, a, b):
    return np.sum(np.where(a > b, 0.0, A @ c))


def where_keepdims_sum(X, M):
    return np.sum(np.where(M > 0.0, 0.0, np.sum(X * X, axis=1, keepdims=True)))


def where_reshape(X, M):
    return np.sum(np.where(M > 0.0, 0.0, np.reshape(X, (3, 2)) ** 2))


def where_gather(c, a, b, perm):
    return np.sum(np.where(a > b, 0.0, c[perm]))


def where_slice(c, a, b):
    return np.sum(np.where(a[1:] > b[1:], 0.0, c[:-1] * c[1:]))


_C = np.array([-1.144962, -0.344126, 0.091343, 0.894063])
_A = np.array([0.271659, -1.124594, -1.139171, -0.095466])
_B = np.array([-0.651836, -0.206058, -0.719939, 1.367101])
_X = np.array([[0.3, -1.2, 0.5], [0.1, 0.8, -0.4], [1.1, -0.6, 0.2]])
_M = np.array([[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [1.0, 1.0, -1.0]])

CASES = {
    "cumsum": (where_cumsum, (_C, _A, _B)),
    "cumsum_other_side": (where_cumsum_other_side, (_C, _A, _B)),
    "cumsum_chain": (where_cumsum_chain, (_C, _A, _B)),
    "flip": (where_flip, (_C, _A, _B)),
    "transpose": (where_transpose, (_X, _M)),
    "matmul": (where_matmul, (np.arange(16.0).reshape(4, 4) / 7.0 - 1.0, _C, _A, _B)),
    "keepdims_sum": (where_keepdims_sum, (_X, _M)),
    "reshape": (where_reshape, (_X[:2], _M[:, :2])),
    "gather": (where_gather, (_C, _A, _B, np.array([2, 0, 3, 1]))),
    "slice": (where_slice, (_C, _A, _B)),
}


@pytest.mark.parametrize("backend", ["interpret", "numba"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_mask_stops_at_ops_that_mix_positions(name, backend):
    f, args = CASES[name]
    check_grads(f, args, backend=backend)


def test_pointwise_is_an_explicit_property_of_elementwise_primitives():
    """Masks travel only through primitives marked pointwise; every such primitive is
    elementwise (broadcasting), and none of the ops that mix positions is marked."""
    from srcad.codegen.fuse import is_elementwise
    from srcad.primitives import REGISTRY
    marked = {n for n, p in REGISTRY.items() if p.pointwise}
    assert {"add", "mul", "sqrt", "log", "select", "maximum", "convert", "mask"} <= marked
    assert all(is_elementwise(REGISTRY[n]) for n in marked - {"copy", "mask", "fits"})
    mixing = {"cumsum", "rcumsum", "flip", "transpose", "reshape", "dot", "sum", "amax", "take",
              "gather", "getslice", "getitem", "expand_like", "unbroadcast", "put", "outer"}
    assert not marked & mixing


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy evaluating the untaken side
@pytest.mark.parametrize("backend", ["numba", "interpret"])
def test_mask_still_reaches_pointwise_chains(backend):
    """The untaken side's inf * 0 stays out through a chain of pointwise ops, also when a
    mixing op comes earlier (before the chain, in the adjoint sweep after it)."""
    import srcad

    def f(x):
        return np.sum(np.where(x > 0.0, 2.0 * np.sqrt(np.cumsum(x * x) * x) + 1.0, 0.0))
    x = np.array([-1.0, 0.0, 0.25, 4.0])
    g = srcad.vjp(f, x, backend=backend)[1](1.0)[0]
    assert np.all(np.isfinite(g))
    check_grads(f, (np.array([-1.0, 0.3, 0.25, 4.0]),), backend=backend)
