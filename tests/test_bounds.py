"""Out-of-range indices and shapes NumPy refuses to broadcast raise, located (issue 13).

Python raises IndexError for ``x[5]`` on a length-3 array and NumPy raises ValueError for
``(3,) * (2,)``; srcad's generated code used to read stray memory (a value, a zero gradient)
and make up a gradient.  Every case here raises ``SrcadIndexError`` (an IndexError) or
``SrcadValueError`` (a ValueError) naming this file and the line marked ``# <-`` in the primal
and in every derivative, compiled and interpreted; in-range calls of the same functions give
Python's values and finite-difference gradients (edge indices -len and len - 1 included).
"""
import inspect

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads

# ----------------------------------------------------------------------------- functions


def pick(x, i):
    return x[i] * 2.0  # <-


def pick2(X, i, j):
    return X[i, j] * X[0, 0]  # <-


def row(X, i):
    return np.sum(X[i] * 2.0)  # <-


def row_slice(X, i):
    return np.sum(X[i, 1:3] ** 2)  # <-


def stencil(x, n):
    s = 0.0
    for k in range(n):
        s += x[k] * x[k - 1]  # <-
    return s


def stencil_back(x, n):
    s = 0.0
    for k in range(n - 1, -1, -1):
        s = s * 0.5 + x[k + 1] ** 2  # <-
    return s


def branch(x, i):
    s = np.sum(x)
    if s > 0.0:
        s = s * x[i]  # <-
    return s


def cond_loop(x, n, t):
    s = 0.0
    for k in range(n):
        if x[k % 2] > t:
            s += x[k + 1] ** 2  # <-
    return s


def nested(X, n):
    s = 0.0
    for k in range(X.shape[0]):
        for j in range(n):
            s += X[k, j] * X[k, 0]  # <-
    return s


def while_break(x, n):
    s = 0.0
    k = 0
    while k < n:
        if s > 100.0:
            break
        s += x[k] ** 2  # <-
        k += 1
    return s


def write(x, i):
    y = x * 1.0
    y[i] = y[0] * 3.0  # <-
    return np.sum(y * y)


def write_row(X, i, v):
    Y = X * 1.0
    Y[i, :] = v  # <-
    return np.sum(Y * Y)


def write_loop(x, n):
    y = np.zeros_like(x)
    for k in range(n):
        y[k] = x[0] * k  # <-
    return np.sum(y * x)


def gather(x, idx):
    return np.sum(x[idx] ** 2)  # <-


def weighted(x, w):
    return np.sum(w * x)  # <-


def add2d(A, B):
    return np.sum(np.sin(A) + B)  # <-


def matvec(A, x):
    return np.sum(A @ x)  # <-


def slice_write(x, v):
    y = x * 1.0
    y[1:3] = v  # <-
    return np.sum(y * y)


def concat(a, b):
    return np.sum(np.concatenate([a, b * 2.0], axis=1) ** 2)  # <-


def reshaped(a):
    return np.sum(np.sin(a.reshape(2, 2)))  # <-


def column(X, j):
    return np.sum(X[:, j] ** 2)  # <-


def loop_broadcast(a, b, n):
    s = 0.0
    for _ in range(n):
        s = s + np.sum(a * b)  # <-
    return s


def _line(f) -> int:
    lines, start = inspect.getsourcelines(f)
    return start + next(k for k, text in enumerate(lines) if "# <-" in text)


x3 = np.array([0.5, -1.25, 2.0])
X23 = np.arange(1.0, 7.0).reshape(2, 3)

# name: (f, arguments that raise, error, message, in-range arguments)
INDEX = {
    "pick": (pick, (x3, 5), "index 5 is out of bounds for axis 0 with size 3", (x3, -3)),
    "pick_neg": (pick, (x3, -4), "index -4 is out of bounds for axis 0 with size 3", (x3, 2)),
    "pick_len": (pick, (x3, 3), "index 3 is out of bounds for axis 0 with size 3", (x3, -1)),
    "pick2": (pick2, (X23, 1, 3), "index 3 is out of bounds for axis 1 with size 3",
              (X23, -1, -3)),
    "row": (row, (X23, 2), "index 2 is out of bounds for axis 0 with size 2", (X23, -2)),
    "row_slice": (row_slice, (X23, -3), "index -3 is out of bounds for axis 0 with size 2",
                  (X23, 1)),
    "stencil": (stencil, (x3, 4), "index 3 is out of bounds for axis 0 with size 3", (x3, 3)),
    "stencil_back": (stencil_back, (x3, 3), "index 3 is out of bounds for axis 0 with size 3",
                     (x3, 2)),
    "branch": (branch, (x3, 7), "index 7 is out of bounds for axis 0 with size 3", (x3, -2)),
    "cond_loop": (cond_loop, (x3, 3, 0.0), "index 3 is out of bounds for axis 0 with size 3",
                  (x3, 2, 0.0)),
    "nested": (nested, (X23, 4), "index 3 is out of bounds for axis 1 with size 3", (X23, 3)),
    "while_break": (while_break, (x3, 4), "index 3 is out of bounds for axis 0 with size 3",
                    (x3, 3)),
    "write": (write, (x3, 3), "index 3 is out of bounds for axis 0 with size 3", (x3, -3)),
    "write_row": (write_row, (X23, -3, 1.5), "index -3 is out of bounds for axis 0 with size 2",
                  (X23, -2, 1.5)),
    "write_loop": (write_loop, (x3, 4), "index 3 is out of bounds for axis 0 with size 3",
                   (x3, 3)),
    # (the interpreter reads row j of X.T and says axis 0; compiled code says NumPy's axis 1)
    "column": (column, (X23, 3), "index 3 is out of bounds for axis", (X23, -3)),
    "gather": (gather, (x3, np.array([0, 5, 1])),
               "index 5 is out of bounds for axis 0 with size 3", (x3, np.array([2, -3, 2]))),
}
SHAPES = {
    "weighted": (weighted, (np.ones(3), np.ones(2)),
                 "operands could not be broadcast together with shapes", (x3, x3[:1])),
    "add2d": (add2d, (X23, X23.T.copy()),
              "operands could not be broadcast together with shapes", (X23, X23[1:])),
    "matvec": (matvec, (X23, np.ones(2)), "not aligned", (X23, x3)),
    "slice_write": (slice_write, (x3, np.ones(3)),
                    "could not broadcast input array from shape (3,) into shape (2,)",
                    (x3, np.array([1.0, 2.0]))),
    "concat": (concat, (X23, np.ones((3, 2))), "concatenation axis must match exactly",
               (X23, X23[:, :1])),
    "reshape": (reshaped, (x3,), "cannot reshape array of size 3 into shape (2,2)",
                (np.arange(4.0),)),
    "loop_broadcast": (loop_broadcast, (np.ones(3), np.ones(2), 2),
                       "operands could not be broadcast together with shapes", (x3, x3, 2)),
}
CASES = {**INDEX, **SHAPES}


def _floats(args):
    return tuple(k for k, a in enumerate(args) if isinstance(a, float) or
                 (isinstance(a, np.ndarray) and a.dtype == np.float64))


def _transforms(f, args, backend):
    """(name, thunk) for the primal and each derivative of f at args."""
    argnums = _floats(args)
    tangents = [np.ones_like(a) if k in argnums else 0 for k, a in enumerate(args)]

    def vjp():
        out, pull = srcad.vjp(f, *args, backend=backend)
        return pull(1.0)

    primal = ((lambda: srcad.interpret(f, *args)) if backend == "interpret" else
              (lambda: srcad.differentiate(f)(*args)))
    out = [("primal", primal), ("jvp", lambda: srcad.jvp(f, args, tangents, backend=backend)),
           ("vjp", vjp)]
    if backend == "numba":
        out.append(("grad", lambda: srcad.grad(f, argnums=argnums)(*args)))
    return out


def _expect(f, name, message, run):
    err = srcad.SrcadIndexError if name in INDEX else srcad.SrcadValueError
    builtin = IndexError if name in INDEX else ValueError
    with pytest.raises(err) as info:
        run()
    assert isinstance(info.value, builtin)
    text = str(info.value)
    assert message in text, text
    assert f"{__file__}:{_line(f)}:" in text, text
    assert "# <-" in text  # the source line is shown


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", sorted(CASES))
def test_raises_interpreted(name):
    f, args, message, _ = CASES[name]
    for what, run in _transforms(f, args, "interpret"):
        _expect(f, name, message, run)


# compiled: primal and gradient of every case; jvp and vjp of a few (each is one more Numba
# compile), all of them under -m slow
_FAST = {"pick", "stencil", "stencil_back", "cond_loop", "write_loop", "gather", "weighted",
         "matvec"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_raises_compiled(name):
    f, args, message, _ = CASES[name]
    for what, run in _transforms(f, args, "numba"):
        if what in ("primal", "grad") or name in _FAST:
            _expect(f, name, message, run)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES.keys() - _FAST))
def test_raises_compiled_every_derivative(name):
    f, args, message, _ = CASES[name]
    for what, run in _transforms(f, args, "numba"):
        _expect(f, name, message, run)


@pytest.mark.parametrize("name", sorted(CASES))
def test_in_range_unchanged(name):
    """The same functions in range: Python's value, finite-difference gradients."""
    f, _, _, args = CASES[name]
    copies = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    expected = f(*copies)
    assert np.isclose(srcad.differentiate(f)(*args), expected, rtol=1e-13, atol=1e-13)
    assert np.isclose(srcad.interpret(f, *args), expected, rtol=1e-13, atol=1e-13)
    check_grads(f, args, backend="interpret")
    if name in _FAST:
        check_grads(f, args)


def test_fused_function_still_used_after_an_error():
    """A call that raised in the unfused fallback does not switch later calls to it."""
    g = srcad.grad(weighted)
    with pytest.raises(ValueError):
        g(np.ones(3), np.ones(2))
    x = np.linspace(0.0, 1.0, 4)
    np.testing.assert_array_equal(g(x, 2.0 * x), 2.0 * x)


def test_checks_hoisted_out_of_loops():
    """x[k] and x[k - 1] for k in range(n): one check each before the loop, none inside;
    the adjoint's reversed loop likewise; x[k] for k in range(len(x)) needs none."""
    src = srcad.show(stencil, x3, 3, mode="reverse").split("generated Python")[1]
    checks = [line for line in src.splitlines() if "OutOfBounds" in line]
    assert len(checks) == 2  # x[k], x[k - 1] (the gradient runs only the adjoint loop)
    assert all(line.startswith("    if ") for line in checks)  # none inside a loop

    def full(x):
        s = 0.0
        for k in range(len(x)):
            s += x[k] ** 2
        return s
    assert "OutOfBounds" not in srcad.show(full, x3, mode="primal").split("generated")[1]


def test_flagged_check_raises_only_when_the_access_runs():
    """x[k + 1] under an if: the loop's range reaches index 3 (a flag before the loop says
    so), but with t = 100 the branch never runs, so Python raises nothing, nor does srcad."""
    src = srcad.show(cond_loop, x3, 3, 100.0, mode="primal").split("generated Python")[1]
    assert "in_range = not (" in src and "if not in_range and (" in src
    args = (x3, 3, 100.0)
    assert srcad.differentiate(cond_loop)(*args) == cond_loop(*args) == 0.0
    np.testing.assert_array_equal(srcad.grad(cond_loop)(*args), np.zeros(3))
    assert srcad.jvp(cond_loop, args, (x3, 0, 0.0))[1] == 0.0


def test_boundscheck_opt_out():
    """differentiate(boundscheck=False) emits no checks; in-range results are the same."""
    f = srcad.differentiate(stencil, boundscheck=False)
    assert "OutOfBounds" not in f.show(x3, 3, mode="reverse").split("generated")[1]
    assert "OutOfBounds" in srcad.differentiate(stencil).show(x3, 3, mode="reverse")
    np.testing.assert_array_equal(f.grad(x3, 3)[0], srcad.grad(stencil)(x3, 3))
    assert f(x3, 3) == stencil(x3, 3)


def test_pullback_checks_the_cotangent_shape():
    def double(x):
        return 2.0 * x
    _, pull = srcad.vjp(double, x3)
    with pytest.raises(srcad.SrcadValueError, match=r"cotangent of shape \(2,\)"):
        pull(np.ones(2))
    np.testing.assert_array_equal(pull(np.ones(3))[0], 2.0 * np.ones(3))


def test_errors_pickle():
    import pickle
    with pytest.raises(srcad.SrcadIndexError) as info:
        srcad.differentiate(pick)(x3, 5)
    again = pickle.loads(pickle.dumps(info.value))
    assert isinstance(again, IndexError) and str(again) == str(info.value)
