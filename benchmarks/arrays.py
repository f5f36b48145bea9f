"""Workload 3 -- NumPy-array functions.

* ``logreg`` -- logistic regression, N = 100000, D = 100, stable log-loss
  ``mean(max(m, 0) + log1p(exp(-|m|)))`` with ``m = -y * (X @ w + b)``,
  gradient w.r.t. (w, b).
* ``mlp`` -- 2-layer tanh MLP 784-256-10, batch 256, softmax cross-entropy
  (max-subtracted log-sum-exp), gradient w.r.t. (W1, b1, W2, b2).
* ``rosenbrock`` -- ``sum(100 (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)`` in
  1000 dimensions: gradient, and Hessian-vector product (``srcad.hvp``).
* ``gmm`` -- the ADBench GMM objective (d = 10, K = 25, n = 10000) w.r.t.
  (alphas, means, icf), without its parameter-free constants.

Each function is written once, as plain NumPy (:func:`logreg`, :func:`mlp`,
:func:`rosenbrock`, :func:`gmm`); srcad compiles that source, autograd / JAX /
torch run the same source with ``np`` rebound (:func:`with_np`). The baselines
are hand-written ``numba.njit`` gradients (fused loops, BLAS for the MLP's
matrix products), checked against central finite differences; every other
gradient must match them to 1e-8 relative before it is timed.

Run: ``python -m benchmarks arrays``.
"""

from __future__ import annotations

import math
import time
import types
import warnings

import numba
import numpy as np

from benchmarks import _timing as T

BASELINE = "numba hand-written"
# settle: NumPy's and SciPy's (Numba's np.dot) OpenBLAS are two thread pools; one left
# spinning slows the other's calls 2-3x on 2 cores for ~0.1 s (see TimedCall)
FAST = {"repeat": 3, "min_time": 0.1, "budget": 2.0, "settle": 0.15}  # compiled, NumPy
SLOW = {"repeat": 1, "min_time": 0.05, "budget": 0.5, "settle": 0.15}  # tracing peers


def with_np(f, lib):
    """``f`` with its global name ``np`` bound to ``lib`` (jax.numpy,
    autograd.numpy, :class:`TorchNumpy`): one source for every framework."""
    env = dict(f.__globals__)
    env["np"] = lib
    return types.FunctionType(f.__code__, env, f.__name__, f.__defaults__, f.__closure__)


class TorchNumpy:
    """The few ``numpy`` functions the workloads call, on torch tensors."""

    def __init__(self, torch):
        self.torch = torch

    def __getattr__(self, name):  # exp, log, log1p, abs, tanh, einsum, ...
        return getattr(self.torch, name)

    def maximum(self, a, b):
        return self.torch.clamp(a, min=b) if isinstance(b, float) else self.torch.maximum(a, b)

    def sum(self, a, axis=None, keepdims=False):
        return a.sum() if axis is None else a.sum(dim=axis, keepdim=keepdims)

    def mean(self, a, axis=None, keepdims=False):
        return a.mean() if axis is None else a.mean(dim=axis, keepdim=keepdims)

    def max(self, a, axis=None, keepdims=False):
        return a.max() if axis is None else a.amax(dim=axis, keepdim=keepdims)


# ================================================================ functions
def logreg(w, b, X, y):
    m = -y * (X @ w + b)
    return np.mean(np.maximum(m, 0.0) + np.log1p(np.exp(-np.abs(m))))


def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    s = z - np.max(z, axis=1, keepdims=True)
    logp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


GAMMA = 1.0  # Wishart prior of ADBench's GMM inputs
WISHART_M = 0.0


def _gmm_component(k, alphas, means, icf, X, R, C, Id):
    """``alpha_k + sum(q_k) - |Q_k (x - mu_k)|^2 / 2`` for every point x (row of X)."""
    d = X.shape[1]
    row = icf[k]
    q = row[:d]
    # Q_k: lower triangular, diagonal exp(q), below it row[d:] column by column (ADBench's
    # order); built with constant 0/1 matrices, as srcad has no in-place writes yet
    Q = (R * row[d:]) @ C + Id * np.exp(q)
    Y = (X - means[k]) @ Q.T
    return alphas[k] + np.sum(q) - 0.5 * np.sum(Y * Y, axis=1)


def gmm(alphas, means, icf, X, R, C, Id):
    """ADBench GMM objective (without the constants): sum over points of the log-sum-exp
    over components (kept online over k: running max and sum), minus n logsumexp(alphas),
    plus the Wishart prior. ``R``, ``C``, ``Id`` are constants (:func:`gmm_constants`)."""
    d = X.shape[1]
    mx = _gmm_component(0, alphas, means, icf, X, R, C, Id)
    s = np.ones_like(mx)
    for k in range(1, alphas.shape[0]):
        t = _gmm_component(k, alphas, means, icf, X, R, C, Id)
        new = np.maximum(mx, t)
        s = s * np.exp(mx - new) + np.exp(t - new)
        mx = new
    prior = 0.0
    for k in range(alphas.shape[0]):
        q = icf[k][:d]
        ld = icf[k][d:]
        frob = np.sum(np.exp(2.0 * q)) + np.sum(ld * ld)
        prior = prior + 0.5 * GAMMA * GAMMA * frob - WISHART_M * np.sum(q)
    amax = np.max(alphas)
    lse_alphas = amax + np.log(np.sum(np.exp(alphas - amax)))
    return np.sum(mx + np.log(s)) - X.shape[0] * lse_alphas + prior


def gmm_vectorized(alphas, means, icf, X, R, C, Id):
    """:func:`gmm` over (n, K, d) arrays with einsum, the way the peers are written."""
    d = X.shape[1]
    q = icf[:, :d]
    ld = icf[:, d:]
    Qs = np.einsum("rj,kj,jc->krc", R, ld, C) + np.exp(q)[:, None, :] * Id
    Y = np.einsum("krc,nkc->nkr", Qs, X[:, None, :] - means[None, :, :])
    main = alphas + np.sum(q, axis=1) - 0.5 * np.sum(Y * Y, axis=2)
    mx = np.max(main, axis=1, keepdims=True)
    slse = np.sum(mx) + np.sum(np.log(np.sum(np.exp(main - mx), axis=1)))
    amax = np.max(alphas)
    lse_alphas = amax + np.log(np.sum(np.exp(alphas - amax)))
    frob = np.sum(np.exp(2.0 * q), axis=1) + np.sum(ld * ld, axis=1)
    prior = np.sum(0.5 * GAMMA * GAMMA * frob - WISHART_M * np.sum(q, axis=1))
    return slse - X.shape[0] * lse_alphas + prior


def gmm_constants(d):
    """``R`` (d, L), ``C`` (L, d), ``Id`` (d, d) with ``(R * l) @ C`` the strictly lower
    triangle holding the L = d(d-1)/2 values ``l`` in ADBench's column-major order."""
    pairs = [(r, c) for c in range(d) for r in range(c + 1, d)]
    R = np.zeros((d, len(pairs)))
    C = np.zeros((len(pairs), d))
    for j, (r, c) in enumerate(pairs):
        R[r, j] = 1.0
        C[j, c] = 1.0
    return R, C, np.eye(d)


# ================================================ hand-written NumPy gradients
def logreg_grad_numpy(w, b, X, y):
    m = -y * (X @ w + b)
    r = -y / (1.0 + np.exp(-m)) / X.shape[0]  # d loss / d (X @ w + b): sigmoid(m) = softplus'(m)
    return X.T @ r, np.sum(r)


def mlp_grad_numpy(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    p = np.exp(z - np.max(z, axis=1, keepdims=True))
    dz = (p / np.sum(p, axis=1, keepdims=True) - Y) / X.shape[0]  # rows of Y sum to 1
    da = (dz @ W2.T) * (1.0 - h * h)
    return X.T @ da, np.sum(da, axis=0), h.T @ dz, np.sum(dz, axis=0)


def rosenbrock_grad_numpy(x):
    t = x[1:] - x[:-1] ** 2
    g = np.zeros_like(x)
    g[:-1] = -400.0 * t * x[:-1] - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * t
    return g


def rosenbrock_hvp_numpy(x, v):
    a, b, va, vb = x[:-1], x[1:], v[:-1], v[1:]
    hv = np.zeros_like(x)
    hv[:-1] = (1200.0 * a * a - 400.0 * b + 2.0) * va - 400.0 * a * vb
    hv[1:] += 200.0 * vb - 400.0 * a * va
    return hv


def gmm_grad_numpy(alphas, means, icf, X, R, C, Id):
    n, d = X.shape
    q, ld = icf[:, :d], icf[:, d:]
    qd = np.exp(q)
    Qs = np.einsum("rj,kj,jc->krc", R, ld, C, optimize=True) + qd[:, None, :] * Id
    xc = X[:, None, :] - means[None, :, :]
    Y = np.einsum("krc,nkc->nkr", Qs, xc, optimize=True)
    main = alphas + np.sum(q, axis=1) - 0.5 * np.sum(Y * Y, axis=2)
    w = np.exp(main - np.max(main, axis=1, keepdims=True))
    w /= np.sum(w, axis=1, keepdims=True)  # (n, K) responsibilities = d slse / d main
    W = np.sum(w, axis=0)
    sa = np.exp(alphas - np.max(alphas))
    G = w[:, :, None] * Y  # -(cotangent of Y)
    dQ = -np.einsum("nkr,nkc->krc", G, xc, optimize=True)
    g_means = np.einsum("krc,nkr->kc", Qs, G, optimize=True)
    g_q = W[:, None] + np.einsum("krr->kr", dQ) * qd + GAMMA * GAMMA * qd * qd - WISHART_M
    g_l = np.einsum("krc,rj,jc->kj", dQ, R, C, optimize=True) + GAMMA * GAMMA * ld
    return W - n * sa / np.sum(sa), g_means, np.concatenate([g_q, g_l], axis=1)


# =============================================== hand-written Numba versions
@numba.njit
def _log1p_exp(m):
    """log(1 + exp(m)), stable."""
    return max(m, 0.0) + math.log1p(math.exp(-abs(m)))


# fastmath: lets LLVM vectorize the row dot products (reassociates the sums)
@numba.njit(fastmath=True)
def logreg_numba(w, b, X, y):
    n, d = X.shape
    total = 0.0
    for i in range(n):
        z = b
        for j in range(d):
            z += X[i, j] * w[j]
        total += _log1p_exp(-y[i] * z)
    return total / n


@numba.njit(fastmath=True)
def logreg_grad_numba(w, b, X, y):
    """One pass over X: margin, sigmoid, and the rank-1 update of the gradient per row."""
    n, d = X.shape
    gw = np.zeros(d)
    gb = 0.0
    for i in range(n):
        z = b
        for j in range(d):
            z += X[i, j] * w[j]
        m = -y[i] * z
        if m >= 0.0:
            sig = 1.0 / (1.0 + math.exp(-m))
        else:
            e = math.exp(m)
            sig = e / (1.0 + e)
        r = -y[i] * sig / n
        for j in range(d):
            gw[j] += r * X[i, j]
        gb += r
    return gw, gb


@numba.njit
def _mlp_forward(W1, b1, W2, b2, X):
    """h = tanh(X W1 + b1) (bias and tanh fused in place), z = h W2 + b2."""
    h = np.dot(X, W1)
    for i in range(h.shape[0]):
        for j in range(h.shape[1]):
            h[i, j] = math.tanh(h[i, j] + b1[j])
    z = np.dot(h, W2)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] += b2[j]
    return h, z


@numba.njit
def mlp_numba(W1, b1, W2, b2, X, Y):
    _, z = _mlp_forward(W1, b1, W2, b2, X)
    total = 0.0
    for i in range(z.shape[0]):
        zmax = z[i].max()
        lse = 0.0
        for j in range(z.shape[1]):
            lse += math.exp(z[i, j] - zmax)
        lse = zmax + math.log(lse)
        for j in range(z.shape[1]):
            total -= Y[i, j] * (z[i, j] - lse)
    return total / z.shape[0]


@numba.njit
def mlp_grad_numba(W1, b1, W2, b2, X, Y):
    """BLAS for the four matrix products, fused loops for softmax and tanh'."""
    bsz = X.shape[0]
    h, z = _mlp_forward(W1, b1, W2, b2, X)
    gb2 = np.zeros(z.shape[1])
    for i in range(bsz):  # z becomes dz = (softmax(z) - Y) / batch
        zmax = z[i].max()
        s = 0.0
        for j in range(z.shape[1]):
            z[i, j] = math.exp(z[i, j] - zmax)
            s += z[i, j]
        for j in range(z.shape[1]):
            z[i, j] = (z[i, j] / s - Y[i, j]) / bsz
            gb2[j] += z[i, j]
    gW2 = np.dot(h.T, z)
    da = np.dot(z, W2.T)
    gb1 = np.zeros(h.shape[1])
    for i in range(bsz):
        for j in range(h.shape[1]):
            da[i, j] *= 1.0 - h[i, j] * h[i, j]
            gb1[j] += da[i, j]
    return np.dot(X.T, da), gb1, gW2, gb2


@numba.njit
def rosenbrock_numba(x):
    total = 0.0
    for i in range(x.shape[0] - 1):
        t = x[i + 1] - x[i] * x[i]
        total += 100.0 * t * t + (1.0 - x[i]) ** 2
    return total


@numba.njit
def rosenbrock_grad_numba(x):
    g = np.zeros_like(x)
    for i in range(x.shape[0] - 1):
        t = x[i + 1] - x[i] * x[i]
        g[i] += -400.0 * t * x[i] - 2.0 * (1.0 - x[i])
        g[i + 1] += 200.0 * t
    return g


@numba.njit
def rosenbrock_hvp_numba(x, v):
    """Tridiagonal Hessian times v, without forming it."""
    hv = np.zeros_like(x)
    for i in range(x.shape[0] - 1):
        a, b = x[i], x[i + 1]
        hv[i] += (1200.0 * a * a - 400.0 * b + 2.0) * v[i] - 400.0 * a * v[i + 1]
        hv[i + 1] += 200.0 * v[i + 1] - 400.0 * a * v[i]
    return hv


# fastmath: lets LLVM vectorize the sums over points
@numba.njit(fastmath=True)
def _gmm_component_numba(alphas, means, icf, XT, k, xc, Y, main):
    """Component k for all n points (columns): xc = x - mu_k, Y = Q_k xc (both (d, n)),
    and main = alpha_k + sum(q_k) - |Y|^2 / 2 (n,), written into the given arrays."""
    d, n = XT.shape
    base = alphas[k]
    for r in range(d):
        base += icf[k, r]
        qd = math.exp(icf[k, r])
        for i in range(n):
            xc[r, i] = XT[r, i] - means[k, r]
            Y[r, i] = qd * xc[r, i]
    j = d
    for c in range(d):
        for r in range(c + 1, d):
            lrc = icf[k, j]
            for i in range(n):
                Y[r, i] += lrc * xc[c, i]
            j += 1
    main[:] = base
    for r in range(d):
        for i in range(n):
            main[i] -= 0.5 * Y[r, i] * Y[r, i]


@numba.njit(fastmath=True)
def _gmm_forward(alphas, means, icf, X):
    """-> (main (K, n), log-sum-exp over k per point (n,), X^T, scratch xc, Y, prior,
    log-sum-exp of alphas)."""
    K, d = means.shape
    n = X.shape[0]
    XT = np.ascontiguousarray(X.T)
    xc, Y, main = np.empty((d, n)), np.empty((d, n)), np.empty((K, n))
    for k in range(K):
        _gmm_component_numba(alphas, means, icf, XT, k, xc, Y, main[k])
    lse = np.empty(n)
    for i in range(n):
        mx = main[0, i]
        for k in range(1, K):
            mx = max(mx, main[k, i])
        s = 0.0
        for k in range(K):
            s += math.exp(main[k, i] - mx)
        lse[i] = mx + math.log(s)
    prior = 0.0
    for k in range(K):
        for r in range(d):
            prior += 0.5 * GAMMA * GAMMA * math.exp(2.0 * icf[k, r]) - WISHART_M * icf[k, r]
        for j in range(d, icf.shape[1]):
            prior += 0.5 * GAMMA * GAMMA * icf[k, j] * icf[k, j]
    amax = alphas.max()
    lse_alphas = amax + math.log(np.exp(alphas - amax).sum())
    return main, lse, XT, xc, Y, prior, lse_alphas


@numba.njit
def gmm_numba(alphas, means, icf, X, R, C, Id):
    _, lse, _, _, _, prior, lse_alphas = _gmm_forward(alphas, means, icf, X)
    return lse.sum() - X.shape[0] * lse_alphas + prior


@numba.njit(fastmath=True)
def gmm_grad_numba(alphas, means, icf, X, R, C, Id):
    """Forward over components (vectorized over points), then per component: recompute
    xc and Y, weight by the responsibilities w = exp(main_k - lse), and reduce over
    points: d slse / d Q_k[r, c] = -sum w Y_r xc_c, d / d mu_k = Q_k^T sum w Y."""
    K, d = means.shape
    n = X.shape[0]
    main, lse, XT, xc, Y, _, _ = _gmm_forward(alphas, means, icf, X)
    g_alphas = np.zeros(K)
    g_means = np.zeros((K, d))
    g_icf = np.zeros_like(icf)
    wY = np.empty(d)
    for k in range(K):
        _gmm_component_numba(alphas, means, icf, XT, k, xc, Y, main[k])
        w = np.exp(main[k] - lse)
        wsum = w.sum()
        g_alphas[k] = wsum
        for r in range(d):
            acc, dq = 0.0, 0.0
            for i in range(n):
                Y[r, i] *= w[i]  # Y becomes w Y
                acc += Y[r, i]
                dq += Y[r, i] * xc[r, i]
            wY[r] = acc
            qd = math.exp(icf[k, r])
            g_icf[k, r] = wsum - qd * dq + GAMMA * GAMMA * qd * qd - WISHART_M
            g_means[k, r] += qd * acc
        j = d
        for c in range(d):
            for r in range(c + 1, d):
                acc = 0.0
                for i in range(n):
                    acc += Y[r, i] * xc[c, i]
                g_icf[k, j] = GAMMA * GAMMA * icf[k, j] - acc
                g_means[k, c] += icf[k, j] * wY[r]
                j += 1
    sa = np.exp(alphas - alphas.max())
    g_alphas -= n * sa / sa.sum()
    return g_alphas, g_means, g_icf


# ====================================================================== data
def logreg_args():
    rng = np.random.default_rng(1)
    n, d = 100_000, 100
    X = rng.standard_normal((n, d))
    y = np.where(X @ rng.standard_normal(d) + rng.standard_normal(n) > 0, 1.0, -1.0)
    return rng.standard_normal(d) * 0.1, 0.05, X, y


def mlp_args():
    rng = np.random.default_rng(2)
    batch, n_in, n_hidden, n_out = 256, 784, 256, 10
    X = rng.random((batch, n_in))
    Y = np.eye(n_out)[rng.integers(0, n_out, batch)]
    W1 = rng.standard_normal((n_in, n_hidden)) / math.sqrt(n_in)
    W2 = rng.standard_normal((n_hidden, n_out)) / math.sqrt(n_hidden)
    return W1, rng.standard_normal(n_hidden) * 0.1, W2, rng.standard_normal(n_out) * 0.1, X, Y


def rosenbrock_args():
    rng = np.random.default_rng(3)
    return (rng.uniform(-1.5, 1.5, 1000),)


def gmm_args():
    rng = np.random.default_rng(4)
    d, K, n = 10, 25, 10_000
    alphas = rng.standard_normal(K)
    means = rng.random((K, d))
    icf = rng.standard_normal((K, d + d * (d - 1) // 2)) * 0.5
    return (alphas, means, icf, rng.random((n, d)), *gmm_constants(d))


# ============================================================== self-checks
def _perturb(args, argnums, direction, h):
    out = list(args)
    for i, u in zip(argnums, direction):
        out[i] = args[i] + h * u
    return out


def check_against_fd(primal, grad, args, argnums, n_dirs=3, rtol=1e-6):
    """Directional central differences of ``primal`` vs <grad, u> along random u."""
    rng = np.random.default_rng(0)
    g = T.as_floats(grad(*args))
    for _ in range(n_dirs):
        direction = [rng.standard_normal(np.shape(args[i])) for i in argnums]
        u = T.as_floats(direction)
        h = 1e-5 / float(np.max(np.abs(u)))
        fd = (
            primal(*_perturb(args, argnums, direction, h))
            - primal(*_perturb(args, argnums, direction, -h))
        ) / (2 * h)
        exact = float(g @ u)
        if abs(fd - exact) > rtol * max(abs(exact), 1e-8 * float(np.linalg.norm(g))):
            raise AssertionError(
                f"{grad.__name__} vs central differences: {exact!r} vs {fd!r} along a random u"
            )


def check_hvp_against_fd(grad, hvp, x, v, rtol=1e-6):
    h = 1e-5 / float(np.max(np.abs(v)))
    fd = (grad(x + h * v) - grad(x - h * v)) / (2 * h)
    bad = T.check_close(hvp(x, v), fd, rtol)
    if bad:
        raise AssertionError(f"{hvp.__name__} vs central differences of the gradient: {bad}")


# ============================================================ implementations
def given(grad_fn, primal_fn):
    """Builders for functions that need no building (the hand-written rows)."""
    return (lambda: grad_fn), (lambda: primal_fn)


def srcad_builds(f, argnums):
    """``srcad.grad(f)`` and the compiled primal ``srcad.differentiate(f)`` (made once)."""
    made = {}

    def grad():
        import srcad

        return srcad.grad(f, argnums=argnums)

    def primal():
        if "primal" not in made:
            import srcad

            made["primal"] = srcad.differentiate(f)
        return made["primal"]

    return grad, primal


def jax_builds(f, argnums, args):
    """``jax.jit(jax.grad(f))`` and ``jax.jit(f)``; the arrays are put on the (CPU)
    device once, outside the timed calls, as a JAX program keeps them."""
    jax = T.optional_import("jax")
    if jax is None:
        return (lambda: T.NOT_INSTALLED), (lambda: T.NOT_INSTALLED)
    f_j = with_np(f, jax.numpy)
    return (
        lambda: jax_call(jax, jax.jit(jax.grad(f_j, argnums=argnums)), args),
        lambda: jax_call(jax, jax.jit(f_j), args),
    )


def jax_call(jax, g, args):
    """``g`` (jitted) on JAX copies of ``args`` made now; the returned callable ignores
    its own arguments (the same arrays) and blocks until the result is ready."""
    dev = [jax.numpy.asarray(a) for a in args]

    def call(*_args):
        return jax.block_until_ready(g(*dev))

    return call


def autograd_builds(f, argnums):
    autograd = T.optional_import("autograd")
    if autograd is None:
        return (lambda: T.NOT_INSTALLED), (lambda: T.NOT_INSTALLED)
    import autograd.numpy as anp

    f_a = with_np(f, anp)
    return (lambda: autograd.grad(f_a, argnum=argnums)), (lambda: f_a)


def torch_builds(f, argnums):
    """Each call wraps the NumPy arrays with ``torch.from_numpy`` (no copy), marks the
    differentiated ones ``requires_grad``, and runs ``backward()``."""
    torch = T.optional_import("torch")
    if torch is None:
        return (lambda: T.NOT_INSTALLED), (lambda: T.NOT_INSTALLED)
    f_t = with_np(f, TorchNumpy(torch))
    positions = (argnums,) if isinstance(argnums, int) else argnums

    def tensors(args, grad):
        out = []
        for i, a in enumerate(args):
            if isinstance(a, np.ndarray):
                t = torch.from_numpy(a)
            else:
                t = torch.tensor(a, dtype=torch.float64)
            out.append(t.requires_grad_() if grad and i in positions else t)
        return out

    def grad(*args):
        ts = tensors(args, True)
        f_t(*ts).backward()
        gs = tuple(ts[i].grad for i in positions)
        return gs[0] if isinstance(argnums, int) else gs

    def primal(*args):
        with torch.no_grad():
            return f_t(*tensors(args, False))

    return (lambda: grad), (lambda: primal)


def peers(f, argnums, args, *, autograd=True, slow=SLOW):
    """The framework rows: (label, grad builder, primal builder, timing, count allocations)."""
    rows = [("jax jit(grad)", *jax_builds(f, argnums, args), FAST, False)]
    if autograd:
        rows.append(("autograd grad", *autograd_builds(f, argnums), slow, False))
    rows.append(("torch backward", *torch_builds(f, argnums), slow, False))
    return rows


# ===================================================================== tables
def first_call(build, args):
    """Seconds for ``build()`` plus the first call (srcad: transformation and Numba compile,
    or loading the on-disk cache), or an error note."""
    t0 = time.perf_counter()
    fn = T.guard(build)
    if isinstance(fn, str):
        return fn
    out = T.guard(lambda: fn(*args))
    return out if isinstance(out, str) else time.perf_counter() - t0


def allocations(build, args):
    fn = T.guard(build)
    if isinstance(fn, str):
        return ""
    n = T.guard(lambda: (fn(*args), T.nrt_allocations(fn, args))[1])
    return str(n)


def ratio_text(num, den):
    return f"{num / den:.2f}" if isinstance(num, float) and isinstance(den, float) else ""


def gradient_table(title, args, impls, ref, ref_value):
    """Time every implementation's gradient (checked against ``ref``) and its own primal
    (checked against ``ref_value``), round-robin; print one table. Returns the cells."""
    jobs = []
    for _, build, build_primal, timing, _ in impls:
        jobs.append({"build": build, "args": args, "ref": ref, **timing})
        jobs.append({"build": build_primal, "args": args, "ref": ref_value, **timing})
    cells = iter(T.measure_all(jobs))
    rows = [(label, {"gradient": next(cells), "primal": next(cells)}) for label, *_ in impls]
    ratio = {label: ratio_text(c["gradient"], c["primal"]) for label, c in rows}
    allocs = {label: allocations(b, args) for label, b, _, _, count in impls if count}
    T.print_table(
        title,
        ["gradient", "primal"],
        rows,
        baseline=BASELINE,
        ratio_label="vs numba",
        extra=[("grad/primal", ratio), ("NRT allocs/call", allocs)],
    )
    return dict(rows)


def srcad_first_calls(builds, args):
    grad_s, primal_s = (fmt_seconds(first_call(b, args)) for b in builds)
    print(
        f"srcad first call in this process (transformation + Numba compile, or on-disk "
        f"cache load): grad {grad_s}, primal {primal_s}"
    )


def fmt_seconds(value):
    return T.fmt_time(value) if isinstance(value, float) else value


def standard_rows(f, argnums, args, numba_fns, numpy_fn, peer_f=None, **peer_opts):
    """Baseline, NumPy hand gradient, srcad (compiling ``f``), then the framework peers
    (running ``peer_f``, default ``f``; also the NumPy row's primal)."""
    peer_f = peer_f or f
    return [
        (BASELINE, *given(*numba_fns), FAST, True),
        ("numpy hand-written", *given(numpy_fn, peer_f), FAST, False),
        ("srcad.grad", *srcad_builds(f, argnums), FAST, True),
        *peers(peer_f, argnums, args, **peer_opts),
    ]


def run_logreg():
    args = logreg_args()
    argnums = (0, 1)
    check_against_fd(logreg_numba, logreg_grad_numba, args, argnums)
    srcad_first_calls(srcad_builds(logreg, argnums), args)
    gradient_table(
        "logreg -- logistic regression N=100000, D=100: gradient w.r.t. (w, b)",
        args,
        standard_rows(logreg, argnums, args, (logreg_grad_numba, logreg_numba), logreg_grad_numpy),
        ref=logreg_grad_numba(*args),
        ref_value=logreg_numba(*args),
    )


def run_mlp():
    args = mlp_args()
    argnums = (0, 1, 2, 3)
    check_against_fd(mlp_numba, mlp_grad_numba, args, argnums)
    srcad_first_calls(srcad_builds(mlp, argnums), args)
    gradient_table(
        "mlp -- tanh MLP 784-256-10, batch 256, softmax cross-entropy: "
        "gradient w.r.t. (W1, b1, W2, b2)",
        args,
        standard_rows(mlp, argnums, args, (mlp_grad_numba, mlp_numba), mlp_grad_numpy),
        ref=mlp_grad_numba(*args),
        ref_value=mlp_numba(*args),
    )


def build_srcad_hvp():
    import srcad

    def srcad_hvp(x, v):
        return srcad.hvp(rosenbrock, (x,), (v,))

    return srcad_hvp


def build_jax_hvp(args):
    jax = T.optional_import("jax")
    if jax is None:
        return T.NOT_INSTALLED
    g = jax.grad(with_np(rosenbrock, jax.numpy))
    return jax_call(jax, jax.jit(lambda x, v: jax.jvp(g, (x,), (v,))[1]), args)


def run_rosenbrock():
    args = rosenbrock_args()
    x = args[0]
    check_against_fd(rosenbrock_numba, rosenbrock_grad_numba, args, (0,))
    srcad_first_calls(srcad_builds(rosenbrock, 0), args)
    cells = gradient_table(
        "rosenbrock -- 1000 dimensions: gradient",
        args,
        standard_rows(
            rosenbrock,
            0,
            args,
            (rosenbrock_grad_numba, rosenbrock_numba),
            rosenbrock_grad_numpy,
            slow=FAST,
        ),
        ref=rosenbrock_grad_numba(x),
        ref_value=rosenbrock_numba(x),
    )

    v = np.random.default_rng(5).standard_normal(x.shape[0])
    hargs = (x, v)
    check_hvp_against_fd(rosenbrock_grad_numba, rosenbrock_hvp_numba, x, v)
    print(f"srcad.hvp first call: {fmt_seconds(first_call(build_srcad_hvp, hargs))}")
    # (label, builder, row of the gradient table whose primal it is, count allocations)
    impls = [
        (BASELINE, lambda: rosenbrock_hvp_numba, BASELINE, True),
        ("numpy hand-written", lambda: rosenbrock_hvp_numpy, "numpy hand-written", False),
        ("srcad.hvp", build_srcad_hvp, "srcad.grad", True),
        ("jax jit(jvp(grad))", lambda: build_jax_hvp(hargs), "jax jit(grad)", False),
    ]
    ref = rosenbrock_hvp_numba(x, v)
    jobs = [{"build": build, "args": hargs, "ref": ref, **FAST} for _, build, _, _ in impls]
    rows = [(label, {"hvp": c}) for (label, *_), c in zip(impls, T.measure_all(jobs))]
    primal = {
        label: ratio_text(c["hvp"], cells[of]["primal"])
        for (label, _, of, _), (_, c) in zip(impls, rows)
    }
    T.print_table(
        "rosenbrock -- 1000 dimensions: Hessian-vector product (forward over reverse)",
        ["hvp"],
        rows,
        baseline=BASELINE,
        ratio_label="vs numba",
        extra=[
            ("hvp/primal", primal),
            ("NRT allocs/call", {lb: allocations(b, hargs) for lb, b, _, c in impls if c}),
        ],
    )


def run_gmm():
    args = gmm_args()
    argnums = (0, 1, 2)
    check_against_fd(gmm_numba, gmm_grad_numba, args, argnums)
    value = gmm_numba(*args)
    for f in (gmm, gmm_vectorized):  # the two NumPy forms agree with the Numba loops
        bad = T.check_close(f(*args), value, 1e-10)
        if bad:
            raise AssertionError(f"{f.__name__} vs gmm_numba: {bad}")
    srcad_first_calls(srcad_builds(gmm, argnums), args)
    # srcad compiles the loop over components, the peers run the vectorized (n, K, d) form
    rows = standard_rows(
        gmm, argnums, args, (gmm_grad_numba, gmm_numba), gmm_grad_numpy, peer_f=gmm_vectorized
    )
    gradient_table(
        "gmm -- ADBench GMM objective d=10, K=25, n=10000 (full lower-triangular Q_k): "
        "gradient w.r.t. (alphas, means, icf)",
        args,
        rows,
        ref=gmm_grad_numba(*args),
        ref_value=value,
    )


def main() -> None:
    print("=" * 78)
    print(
        "arrays: NumPy-array functions, gradient per call from Python "
        "(float64; time/call, and each implementation's own primal)"
    )
    print(
        "self-check: every hand-written Numba gradient matches central finite differences "
        "(rtol 1e-6) before anything is timed; the other columns must match it to 1e-8"
    )
    print(
        "NRT allocs/call: arrays and typed lists that Numba-compiled code allocates in one "
        "call (srcad and the Numba rows)"
    )
    with warnings.catch_warnings():
        # srcad's GMM gradient calls np.dot on an 'A'-layout array (rt.unbroadcast of a
        # transposed one): Numba warns at compile time
        warnings.simplefilter("ignore", numba.NumbaPerformanceWarning)
        for run in (run_logreg, run_mlp, run_rosenbrock, run_gmm):
            print("-" * 78)
            t0 = time.perf_counter()
            failed = T.guard(run)
            if failed:
                print(f"{run.__name__[4:]} failed: {failed}")
            print(f"({run.__name__[4:]}: {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
