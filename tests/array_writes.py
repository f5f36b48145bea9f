"""Functions that write into arrays in place (issue 4): the corpus for tests/test_writes.py.

Each function returns a scalar; ``CASES`` says how to call it.  The forms covered: x[i] = v,
x[i] += v, x[i, :] = row, x[i, j] = v, x[a:b] = ..., x[:, j] = col, writes inside loops and
branches, writes through aliases (y = x), writes into arguments (the caller's array must not
change), helpers that write into their arguments, the RNN/cumsum/stencil patterns, and
overwriting values that the derivative still needs (they must be restored in reverse mode).
"""
import numpy as np


def set_scalar(x):
    y = x * 2.0
    y[0] = 1.0
    y[2] = y[1] * y[2]
    return np.sum(y * y)


def overwrite_needed(x):
    y = x.copy()
    s = np.sum(y * y)        # reads y before it is overwritten
    y[1] = np.sin(y[1])      # the derivative of y*y above needs the old y[1]
    y[0] = y[0] * y[1]
    return s + np.sum(y ** 3)


def aug_assign(x):
    y = np.zeros_like(x)
    for i in range(len(x)):
        y[i] += x[i] * x[i]
        y[i] *= 3.0
    y[-1] -= x[0]
    return np.sum(np.exp(0.1 * y))


def hand_cumsum(x):
    c = np.zeros_like(x)
    c[0] = x[0]
    for i in range(1, len(x)):
        c[i] = c[i - 1] + x[i]
    return np.sum(c * c)


def copy_loop(x):
    y = np.zeros_like(x)
    for i in range(len(x)):
        y[i] = x[i]
    return np.sum(np.sin(y) * y)


def rnn(W, U, xs, h0):
    """h[t+1] = tanh(W h[t] + U x[t]) over a sequence, written into a matrix of states."""
    T = xs.shape[0]
    h = np.zeros((T + 1, h0.shape[0]))
    h[0] = h0
    for t in range(T):
        h[t + 1] = np.tanh(W @ h[t] + U @ xs[t])
    return np.sum(h[T] ** 2) + 0.1 * np.sum(h)


def stencil(u0, c):
    """Explicit heat-equation steps written in place: u[1:-1] = u[:-2] - 2u[1:-1] + u[2:]."""
    u = u0.copy()
    for _ in range(4):
        u[1:-1] = u[1:-1] + c * (u[:-2] - 2.0 * u[1:-1] + u[2:])
    return np.sum(u * u)


def stencil_fresh(u0, c):
    """The same with a new array per step (rebinding, not in place)."""
    u = u0.copy()
    for _ in range(4):
        v = u.copy()
        v[1:-1] = u[1:-1] + c * (u[:-2] - 2.0 * u[1:-1] + u[2:])
        u = v
    return np.sum(u * u)


def rows_and_columns(A):
    B = np.zeros((A.shape[0], A.shape[1]))
    for i in range(A.shape[0]):
        B[i, :] = A[i] * (i + 1.0)
    B[:, 0] = B[:, 1] * B[:, 2]
    B[1, 2] = np.sum(B[0])
    return np.sum(B * A)


def block_write(A, v):
    B = A.copy()
    B[1:3, 0:2] = np.outer(v, v)
    B[0, 1:] = 0.5 * B[0, 1:]
    return np.sum(np.tanh(B))


def branch_writes(x):
    y = x.copy()
    for i in range(len(x)):
        if x[i] > 0.0:
            y[i] = np.sqrt(x[i])
        else:
            y[i] = -x[i] * y[i]
    return np.sum(y * x)


def alias_write(x):
    y = x          # y and x are one array
    y[0] = 3.0 * y[1]
    return np.sum(x * x)


def alias_in_loop(x):
    z = np.zeros_like(x)
    w = z
    for i in range(1, len(x)):
        w[i] = z[i - 1] + x[i]   # z sees the write through w
    return np.sum(z * x)


def _scale_into(a, i, s):
    a[i] = a[i] * s


def helper_writes(x):
    y = x * 1.0
    for i in range(len(x)):
        _scale_into(y, i, x[i])
    return np.sum(y)


def write_argument(x):
    x[0] = x[0] * x[1]     # writes the caller's array in Python; srcad works on a copy
    return np.sum(x * x)


def int_index_array(x):
    counts = np.zeros(3, dtype=np.int64)
    s = 0.0
    for i in range(len(x)):
        k = i % 3
        counts[k] += 1
        s += x[i] * counts[k]
    return s


def nested_loops(A):
    B = A.copy()
    for i in range(1, B.shape[0]):
        for j in range(B.shape[1]):
            B[i, j] = B[i - 1, j] * np.cos(B[i, j])
    return np.sum(B)


def while_write(x):
    y = x.copy()
    k = 0
    while k < len(x) - 1:
        y[k + 1] = y[k + 1] + 0.5 * y[k] * y[k]
        k += 1
    return np.sum(y)


def rebind_and_write(x):
    h = x.copy()
    for i in range(3):
        h[i] = h[i] * 2.0 + 1.0
        h = np.sin(h)
    return np.sum(h)


def while_reads_written(x):
    y = x.copy()
    while y[0] < 5.0:          # the condition reads the array the body writes
        y[0] = y[0] * 2.0 + 1.0
    return np.sum(y * x)


def alias_reads_in_loop(x):
    y = x.copy()
    z = y
    for i in range(3):
        y[i] = z[i] * 2.0 + z[i + 1]   # z sees the earlier iterations' writes
    return np.sum(z * z) + np.sum(y)


def _put(a, i, v):
    a[i] = v


def helper_write_in_branch(x):
    y = x * 1.0
    for i in range(len(x)):
        if x[i] > 0:
            _put(y, i, np.cos(y[i]))
    return np.sum(y * y)


def copy_survives_write(x):
    y = x.copy()
    keep = y.copy()
    y[0] = 7.0
    return np.sum(y * keep)


def fill_then_rewrite_rows(x):
    A = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            A[i, j] = x[i] * x[j]
        A[i] = np.tanh(A[i])
    return np.sum(A @ x[:3])


def rebind_alias_in_loop(x):
    h = x * 1.0
    h0 = h          # h is rebound in the loop, never written: h0 keeps the first array
    for i in range(3):
        h = np.tanh(0.5 * h + h0)
    return np.sum(h) + np.sum(h0 * h0)


def rebind_argument_alias(x):
    s = x
    for k in range(len(x) - 2):   # as many iterations as the data says
        s = s * x + 1.0
    return np.sum(s * x)


def loop_then_write(x):
    h0 = x * 1.0
    h = h0
    for i in range(2):   # runs: h is a new array when the loop ends
        h = h * 2.0
    h[0] = 7.0 * h[1]
    return np.sum(h * h0)


def maybe_same_unread(x):
    h0 = x * 1.0
    if x[0] > 0.0:
        h = h0 * 2.0
    else:
        h = h0
    h[1] = h[2] * h[3]   # h may be h0, which is not used again
    return np.sum(h * h)


rng = np.random.default_rng(7)
_x5 = rng.uniform(-1.0, 1.0, 5)
_A = rng.uniform(-1.0, 1.0, (4, 3))
CASES = {
    "set_scalar": (set_scalar, (_x5,)),
    "overwrite_needed": (overwrite_needed, (_x5,)),
    "aug_assign": (aug_assign, (_x5,)),
    "hand_cumsum": (hand_cumsum, (_x5,)),
    "copy_loop": (copy_loop, (_x5,)),
    "rnn": (rnn, (0.5 * rng.standard_normal((3, 3)), 0.5 * rng.standard_normal((3, 2)),
                  rng.standard_normal((4, 2)), rng.standard_normal(3))),
    "stencil": (stencil, (rng.uniform(0.0, 1.0, 7), 0.2)),
    "stencil_fresh": (stencil_fresh, (rng.uniform(0.0, 1.0, 7), 0.2)),
    "rows_and_columns": (rows_and_columns, (_A,)),
    "block_write": (block_write, (_A, rng.uniform(-1, 1, 2))),
    "branch_writes": (branch_writes, (_x5,)),
    "alias_write": (alias_write, (_x5,)),
    "alias_in_loop": (alias_in_loop, (_x5,)),
    "helper_writes": (helper_writes, (_x5,)),
    "write_argument": (write_argument, (_x5,)),
    "int_index_array": (int_index_array, (_x5,)),
    "nested_loops": (nested_loops, (_A,)),
    "while_write": (while_write, (_x5,)),
    "rebind_and_write": (rebind_and_write, (_x5,)),
    "while_reads_written": (while_reads_written, (_x5,)),
    "alias_reads_in_loop": (alias_reads_in_loop, (_x5,)),
    "helper_write_in_branch": (helper_write_in_branch, (_x5,)),
    "copy_survives_write": (copy_survives_write, (_x5,)),
    "fill_then_rewrite_rows": (fill_then_rewrite_rows, (_x5,)),
    "rebind_alias_in_loop": (rebind_alias_in_loop, (_x5,)),
    "rebind_argument_alias": (rebind_argument_alias, (_x5,)),
    "loop_then_write": (loop_then_write, (_x5,)),
    "maybe_same_unread": (maybe_same_unread, (_x5,)),
    "maybe_same_unread_other_path": (maybe_same_unread, (-_x5,)),
}


# ----------------------------------------------------------------------------- refused forms

def write_through_view(x):
    y = x.copy()
    row = y[1:3]
    row[0] = 1.0
    return np.sum(y)


def stale_view(x):
    y = x.copy()
    head = y[0:2]
    y[0] = 5.0
    return np.sum(head)


def chained_index(A):
    B = A.copy()
    B[0][1] = 2.0
    return np.sum(B)


def diverging_aliases(x):
    y = x.copy()
    z = y
    for i in range(2):
        z[i] = 1.0
        z = z * 2.0
    return np.sum(y) + np.sum(z)


def maybe_same_read(x):
    """h is h0 on one path only: after the write, srcad cannot know h0's value."""
    h0 = x * 1.0
    if x[0] > 0.0:
        h = h0 * 2.0
    else:
        h = h0
    h[0] = 100.0
    return np.sum(h0)


def maybe_ran_read(x):
    """With no iteration (len(x) <= 5, known only at run time) h is still h0."""
    h = x * 1.0
    h0 = h
    for i in range(len(x) - 5):
        h = h * 2.0
    h[0] = 3.0
    return np.sum(h0 * x)


def maybe_same_in_tuple(x):
    """As maybe_same_read, with h0 held in a tuple when h is written."""
    h0 = x * 1.0
    t = (h0, 2.0)
    if x[0] > 0.0:
        h = h0 * 2.0
    else:
        h = h0
    h[0] = 100.0
    a, b = t
    return np.sum(a) * b


REFUSED = {"write_through_view": (write_through_view, (_x5,)),
           "maybe_same_in_tuple": (maybe_same_in_tuple, (_x5,)),
           "maybe_same_read": (maybe_same_read, (_x5,)),
           "maybe_ran_read": (maybe_ran_read, (_x5,)),
           "stale_view": (stale_view, (_x5,)),
           "chained_index": (chained_index, (_A,)),
           "diverging_aliases": (diverging_aliases, (_x5,))}
