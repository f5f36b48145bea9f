"""Array functions used by test_arrays (srcad compiles from source files)."""
import numpy as np


def make_binary(op):
    def f(a, b):
        return np.sum(np.sin(op(a, b)))
    return f


def make_unary(op):
    def f(a):
        return np.sum(np.sin(op(a)) * 1.5)
    return f


def make_reduction(red, axis, keepdims):
    def f(x):
        r = red(x, axis=axis, keepdims=keepdims)
        return np.sum(r * r * 0.5 + np.sin(r))
    return f


def logistic_regression(w, b, X, y):
    z = X @ w + b
    # stable log(1 + exp(-y z))
    m = -y * z
    return np.mean(np.maximum(m, 0.0) + np.log1p(np.exp(-np.abs(m))))


def softmax_xent(W1, b1, W2, b2, X, Y):
    """2-layer tanh MLP with a stable softmax cross-entropy."""
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    Z = Z - np.max(Z, axis=1, keepdims=True)
    logp = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
    return -np.sum(logp * Y) / X.shape[0]


def bilinear(x, A, y):
    return x @ A @ y + np.dot(x, y)


def loop_dot(x, w):
    s = 0.0
    for i in range(len(x)):
        s += w[i] * np.sin(x[i])
    return s


def running_sum_loop(x):
    """A cumulative sum written by hand, reading the array element by element."""
    c = 0.0
    total = 0.0
    for i in range(x.shape[0]):
        c = c + x[i]
        total = total + c * c
    return total


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def gmm_loglik(alphas, means, x):
    """log-likelihood of 1-D points under a mixture of unit Gaussians (log-sum-exp)."""
    total = 0.0
    for i in range(x.shape[0]):
        d = x[i] - means
        lp = alphas - 0.5 * d * d
        m = np.max(lp)
        total += m + np.log(np.sum(np.exp(lp - m)))
    return total - x.shape[0] * np.log(np.sum(np.exp(alphas)))


def matrix_rows(A, v):
    s = 0.0
    for i in range(A.shape[0]):
        r = A[i]
        s += np.dot(r, v) ** 2 + A[i, 0]
    return s


def var_std(x):
    return np.var(x) + np.std(x, axis=0).sum() + x.mean(axis=1).max()


def branchy(x, t):
    if np.sum(x) > t:
        y = np.exp(-x)
    else:
        y = x * x
    return np.sum(y)


def float32_sum(x):
    return np.sum(np.tanh(x) * np.float32(2.0))


def linalg_mix(A, b):
    x = np.linalg.solve(A, b)
    return np.log(np.abs(np.linalg.det(A))) + np.sum(x * x) + np.trace(np.linalg.inv(A) @ A.T)


def shapes_mix(x, y):
    """x of length 4, y of length 2."""
    m = x.reshape(2, -1)
    z = np.concatenate((m, y[None, :]), axis=0)
    w = np.hstack((x, y)) * np.cumsum(np.concatenate((x, y)))
    c = z[:, 1]
    v = np.vstack((y, y * 2.0)).ravel()
    s = np.stack((y, y), axis=1) ** 3
    return np.sum(z * z) + np.sum(w) + np.sum(s) + np.sum(c) + np.sum(v * x)
