"""srcad's own matrix product (srcad/codegen/gemm.py): packed panels and an LLVM-vector
micro-kernel.  Its products must agree with NumPy's for every edge the blocking has (partial
micro-panels, several depth and column blocks, transposed and strided operands, empty
dimensions), and generated code that calls it must differentiate like the BLAS version."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import srcad
from srcad.codegen import gemm as G
from srcad.codegen import pysource
from srcad.testing import check_grads

NR64 = G.NV * (G.VBYTES // 8)  # micro-panel columns for float64
# columns of one packed block of B (float64)
NC64 = max(NR64, (G.NC_BYTES // (G.KC_MAX * 8)) // NR64 * NR64)

SHAPES = [
    (1, 1, 1), (3, 5, 2), (G.MR, 7, NR64), (G.MR + 1, 9, NR64 + 1),  # partial micro-panels
    (2 * G.MR - 1, 33, 2 * NR64 - 1),
    (17, G.KC_MAX, 31), (19, G.KC_MAX + 1, 29), (11, 3 * G.KC_MAX + 5, 27),  # depth blocks
    (9, 13, NC64), (10, 12, NC64 + 1), (7, 300, 2 * NC64 + NR64 + 3),  # column blocks
    (64, 64, 64), (130, 70, 90),
    (1000, 10, 10), (300, 7, 5), (10, 2000, 10), (37, 20, 16), (37, 20, 17),  # narrow kernels
    (14, 9, 6), (6, 40, 3), (5, 600, 4),  # bottom edges of 6, 6 and 5 rows (kernels 4 + 2 + 1)
]


def _ref(A, B):
    return A.astype(np.float64) @ B.astype(np.float64)


def _operands(rng, m, k, n, layout, dtype):
    if layout == "C":
        A, B = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    elif layout == "F":  # transposed views, as x.T in generated code
        A, B = rng.standard_normal((k, m)).T, rng.standard_normal((n, k)).T
    elif layout == "strided":  # strided views of larger arrays
        A = rng.standard_normal((2 * m, k + 3))[::2, 1: k + 1]
        B = rng.standard_normal((k + 2, 3 * n))[2:, ::3]
    else:  # negative strides
        A = rng.standard_normal((m, k))[::-1]
        B = rng.standard_normal((k, n))[::-1, ::-1]
    return A.astype(dtype), B.astype(dtype)


@pytest.mark.parametrize("layout", ["C", "F", "strided", "reversed"])
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_gemm_matches_numpy(m, k, n, layout):
    rng = np.random.default_rng(m * 10007 + k * 101 + n)
    A, B = _operands(rng, m, k, n, layout, np.float64)
    C = G.gemm(A, B)
    assert C.shape == (m, n) and C.flags.c_contiguous
    # error bound of a k-term dot product (FMA, blocked order) against NumPy's
    tol = 4 * k * np.finfo(np.float64).eps * (np.abs(A) @ np.abs(B))
    assert np.all(np.abs(C - _ref(A, B)) <= tol + 1e-300)


@pytest.mark.parametrize("m,k,n", [(3, 5, 2), (G.MR + 3, 70, 2 * NR64 + 5), (40, G.KC_MAX + 9, 51)])
def test_gemm_float32(m, k, n):
    rng = np.random.default_rng(k)
    A, B = _operands(rng, m, k, n, "F", np.float32)
    C = G.gemm(A, B)
    assert C.dtype == np.float32
    tol = 4 * k * np.finfo(np.float32).eps * (np.abs(A).astype(np.float64) @ np.abs(B))
    assert np.all(np.abs(C - _ref(A, B)) <= tol)


def test_gemm_empty_dimensions():
    assert np.array_equal(G.gemm(np.ones((3, 0)), np.ones((0, 4))), np.zeros((3, 4)))
    assert G.gemm(np.ones((0, 5)), np.ones((5, 4))).shape == (0, 4)
    assert G.gemm(np.ones((3, 5)), np.ones((5, 0))).shape == (3, 0)


def test_gemm_does_not_write_operands_and_is_fresh():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((20, 30)), rng.standard_normal((30, 40))
    A0, B0 = A.copy(), B.copy()
    C1 = G.gemm(A, B)
    C2 = G.gemm(A, B)
    assert np.array_equal(A, A0) and np.array_equal(B, B0)
    assert np.array_equal(C1, C2) and not np.shares_memory(C1, C2)


def test_matmul_dispatch_and_shape_errors():
    rng = np.random.default_rng(2)
    for (m, k, n) in [(2, 3, 4), (50, 60, 1), (50, 60, 10), (50, 60, NR64 - 1), (50, 60, NR64),
                      (200, 100, 300), (3000, 10, 10), (10, 3000, 10)]:
        A, B = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        for limit in (0, 1 << 62):
            np.testing.assert_allclose(G.matmul(A, B, limit), A @ B, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        G.matmul(np.ones((64, 30)), np.ones((31, 64)), 1 << 62)


def test_gemm_limit_modes(monkeypatch):
    monkeypatch.setenv("SRCAD_GEMM", "blas")
    assert G.gemm_limit() is None
    monkeypatch.setenv("SRCAD_GEMM", "own")
    assert G.gemm_limit() == 1 << 62
    monkeypatch.setenv("SRCAD_GEMM", "fast")
    with pytest.raises(ValueError, match="SRCAD_GEMM"):
        G.gemm_limit()
    monkeypatch.setenv("SRCAD_GEMM", "auto")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert G.gemm_limit() == (None if G.VBYTES < 64 else G.SMALL_WORK)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert G.gemm_limit() == (None if G.VBYTES < 64 else 1 << 62)


def layer(W, V, X):
    H = np.tanh(X @ W)
    return np.sum((H @ V) ** 2) + np.sum(W.T @ X.T)


def test_generated_code_uses_gemm_and_differentiates(monkeypatch):
    monkeypatch.setattr(pysource, "_gemm_limit", lambda: 1 << 62)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 30))
    W = 0.2 * rng.standard_normal((30, NR64 + 8))
    V = 0.2 * rng.standard_normal((NR64 + 8, NR64 + 2))
    assert "_rt.matmul(" in srcad.show(layer, W, V, X, argnums=(0, 1))
    check_grads(layer, (W, V, X), modes=("fwd", "rev"), rtol=1e-6)
    # the same gradient through BLAS
    g_own = srcad.grad(layer, argnums=(0, 1))(W, V, X)
    monkeypatch.setattr(pysource, "_gemm_limit", lambda: None)
    assert "_rt.matmul(" not in srcad.show(layer, W, V, X, argnums=(0, 1))
    g_blas = srcad.grad(layer, argnums=(0, 1))(W, V, X)
    for a, b in zip(g_own, g_blas):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_256_bit_vectors_in_a_fresh_process(tmp_path):
    """The micro-kernel at the other vector width (AVX2 hosts use 4 doubles per vector): forced
    with the private test knob, in a process of its own with its own Numba cache."""
    code = textwrap.dedent("""
        import numpy as np
        from srcad.codegen import gemm as G
        assert G.VBYTES == 32
        rng = np.random.default_rng(0)
        for m, k, n in [(9, 300, 13), (17, 40, 50), (8, 8, 12)]:
            for dt in (np.float64, np.float32):
                A = rng.standard_normal((k, m)).T.astype(dt)
                B = rng.standard_normal((k, n)).astype(dt)
                ref = A.astype(np.float64) @ B.astype(np.float64)
                tol = 4 * k * np.finfo(dt).eps * (np.abs(A).astype(np.float64) @ np.abs(B))
                assert np.all(np.abs(G.gemm(A, B) - ref) <= tol), (m, k, n, dt)
        print("ok")
    """)
    env = dict(os.environ, _SRCAD_TEST_VECTOR_BYTES="32", NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_runtime_change_gives_a_new_module(monkeypatch, tmp_path):
    """Numba's cache of a generated module links the runtime's machine code (rt, gemm, vmath)
    and checks only the generated file's timestamp; the module's key must therefore change
    when the runtime's text does (else an edited gemm.py kept running its old code)."""
    from srcad.codegen import cache
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path))
    src = "import numba\n\n@numba.njit(cache=True)\ndef f(x):\n    return x + 1\n"
    m1 = cache.load_module(src, "probe")
    monkeypatch.setattr(cache, "_runtime_digest", lambda: "another runtime")
    m2 = cache.load_module(src, "probe")
    assert m1.__name__ != m2.__name__ and m1.f(1) == m2.f(1) == 2
