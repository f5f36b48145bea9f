"""An RNN that writes its states into a matrix in place, differentiated as written.
Reverse mode restores each overwritten row in the adjoint sweep instead of copying the state
matrix per step; the caller's arrays are never modified.
Run: python examples/rnn_inplace.py"""
import numpy as np

import srcad
from srcad.testing import check_grads


def rnn_loss(W, U, xs, h0):
    T = xs.shape[0]
    h = np.zeros((T + 1, h0.shape[0]))
    h[0] = h0
    for t in range(T):
        h[t + 1] = np.tanh(W @ h[t] + U @ xs[t])
    return np.sum(h[T] ** 2) + 0.1 * np.sum(h)


def heat(u0, c, steps):
    u = u0.copy()
    for _ in range(steps):
        u[1:-1] = u[1:-1] + c * (u[:-2] - 2.0 * u[1:-1] + u[2:])
    return np.sum(u * u)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    W, U = 0.5 * rng.standard_normal((4, 4)), 0.5 * rng.standard_normal((4, 3))
    xs, h0 = rng.standard_normal((20, 3)), rng.standard_normal(4)
    gW, gU = srcad.grad(rnn_loss, argnums=(0, 1))(W, U, xs, h0)
    print("d loss / d W:\n", gW)
    check_grads(rnn_loss, (W, U, xs, h0))
    print("RNN gradient matches central finite differences (forward and reverse mode)")
    u0 = np.sin(np.linspace(0, np.pi, 9))
    print("d heat / d c:", srcad.grad(heat, argnums=1)(u0, 0.2, 50))
    check_grads(heat, (u0, 0.2, 50))
    src = srcad.show(rnn_loss, W, U, xs, h0).split("# --- generated Python ---")[1]
    start = src.index("# adjoint of line")
    print("\nthe start of the generated adjoint sweep:\n" + "\n".join(
        src[start:].splitlines()[:25]))
