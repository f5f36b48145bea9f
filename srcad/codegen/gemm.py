"""srcad's own matrix product for 2-D float arrays: packed panels and an LLVM-vector micro-kernel.

``gemm(A, B)`` computes ``A @ B`` after Goto's algorithm (as BLIS and OpenBLAS do), with
less packing:

* The loops run over blocks of B of ``KC`` rows by up to ``NC`` columns (about 400 KB: they
  stay in L2), then over micro-panels of ``MR`` rows of A (in L1 while the kernel sweeps the
  block), then over micro-panels of ``NR`` columns of the block.
* The micro-kernel (:func:`_make_ukernel`, an ``@intrinsic`` emitting LLVM IR) keeps an
  ``MR x NR`` block of C in ``MR * NR / VW`` vector registers (``VW`` = lanes of the host's
  widest vectors: 8 doubles with AVX-512) and, for every ``p``, loads ``NR / VW`` vectors of
  a row of B, broadcasts each of the ``MR`` values of a column of A and adds the products with
  fused multiply-adds: 24 FMAs for 3 vector loads and 8 broadcasts.  LLVM keeps the
  accumulators in registers (allocas that SROA promotes).
* The kernel reads A in place at any strides (``x.T`` included) and B in place when its rows
  are contiguous; only B with other strides is copied into a workspace.  The bottom edge of A
  (fewer than MR rows) runs kernels of 4, 2 and 1 rows, also in place.  Columns beyond the
  right edge are masked (masked vector loads and stores), and a narrow product (n < NR) gets a
  narrower kernel (``NR`` of 1, 2 or 3 vectors), so a 10-column product wastes 6 lanes of 16,
  not 14 of 24.
* Strides are turned into element counts once per call and the kernel gets offsets: building
  views and dividing strides per kernel call made narrow products (10000x10x10: 1250 calls of
  10 steps) 3x slower.

Why srcad has its own: the OpenBLAS that NumPy and Numba call may run AVX2 kernels on an
AVX-512 machine (it does on the benchmark machine, where ``OPENBLAS_CORETYPE=Haswell`` is set
for the whole environment).  Measured there, one core, float64: 256x784 @ 784x256 in 0.98-1.05
ms (100-105 GFLOP/s) against OpenBLAS's 2.0 ms (50 GFLOP/s); XLA's kernel (JAX on CPU) takes
about 1.0 ms.  Packing both operands cost 0.15-0.3 ms more, and blocks larger than L2 made the
time vary 2x from run to run with where the pages landed.
Codegen calls it through :func:`matmul`, which falls back to ``np.dot`` outside the sizes where
it pays and BLAS would not use more threads (:func:`gemm_limit`, ``SRCAD_GEMM``).
"""
from __future__ import annotations

import os

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


def _vector_bytes() -> int:
    """Bytes in the host's widest float vector register (64 with AVX-512F, else 32).
    ``_SRCAD_TEST_VECTOR_BYTES`` overrides it for tests only: Numba's cache does not see
    the change, so a process that sets it needs a ``NUMBA_CACHE_DIR`` of its own."""
    forced = os.environ.get("_SRCAD_TEST_VECTOR_BYTES")
    if forced:
        return int(forced)
    feats = llvm.get_host_cpu_features()
    return 64 if feats.get("avx512f", False) else 32


VBYTES = _vector_bytes()
MR = 8          # rows of A per micro-panel (broadcast one at a time)
NV = 3          # vectors of B per micro-panel row: NR = NV * VW columns
KC_MAX = 256    # depth of a packed block (longer sums are split into balanced blocks)
NC_BYTES = 512 * 1024  # packed block of B, KC x NC: stays in L2 (1 MB on Zen 5)


def _make_ukernel(mr, nv):
    """The micro-kernel for micro-panels of ``mr`` rows by ``nv`` vectors of columns (an
    ``@intrinsic``: LLVM IR with explicit vectors and FMAs)."""

    @intrinsic
    def ukernel(typingctx, a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w):
        """The mr x w block (w <= nv*VW columns) ``C[c0 + i*ldc + j] = beta * C[...] +
        sum_p A_ip B_pj`` with ``A_ip = a.data[a0 + i*rsa + p*csa]`` and
        ``B_pj = b.data[b0 + p*rsb + j]`` (offsets and strides in elements; a is the operand
        itself at any strides, b the operand or its packed copy, with unit column stride).
        Columns j >= w are neither read (masked loads) nor written (masked stores).  beta is 0
        or 1; with 0 the old C is not read."""
        dt = a.dtype
        sig = types.void(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)

        def codegen(context, builder, signature, args):
            fty = context.get_value_type(dt)
            vw = VBYTES // (dt.bitwidth // 8)
            vec = ir.VectorType(fty, vw)
            vptr = vec.as_pointer()
            i64, i32 = ir.IntType(64), ir.IntType(32)
            mty = ir.VectorType(ir.IntType(1), vw)
            _, a0_, rsa_, csa_, _, b0_, rsb_, kc_, _, c0_, ldc_, beta_, w_ = args
            pa, pb, pc = (
                builder.gep(context.make_array(signature.args[k])(context, builder, args[k]).data,
                            [off]) for k, off in ((0, a0_), (4, b0_), (8, c0_)))
            suffix = f"v{vw}{'f64' if dt.bitwidth == 64 else 'f32'}"
            mod = builder.module
            fma = cgutils.get_or_insert_function(mod, ir.FunctionType(vec, [vec] * 3),
                                                 f"llvm.fma.{suffix}")
            mload = cgutils.get_or_insert_function(
                mod, ir.FunctionType(vec, [vptr, i32, mty, vec]), f"llvm.masked.load.{suffix}.p0")
            mstore = cgutils.get_or_insert_function(
                mod, ir.FunctionType(ir.VoidType(), [vec, vptr, i32, mty]),
                f"llvm.masked.store.{suffix}.p0")
            align = ir.Constant(i32, dt.bitwidth // 8)
            zero = ir.Constant(vec, [0.0] * vw)
            # lane j*vw + l is a column of the block iff it is < w
            wv = builder.insert_element(ir.Constant(ir.VectorType(i64, vw), ir.Undefined), w_,
                                        ir.Constant(i32, 0))
            wv = builder.shuffle_vector(wv, ir.Constant(ir.VectorType(i64, vw), ir.Undefined),
                                        ir.Constant(ir.VectorType(i32, vw), [0] * vw))
            masks = [builder.icmp_signed("<", ir.Constant(ir.VectorType(i64, vw),
                                                          [j * vw + lane for lane in range(vw)]),
                                         wv) for j in range(nv)]
            accs = [[cgutils.alloca_once_value(builder, zero) for _ in range(nv)]
                    for _ in range(mr)]
            arow = [builder.mul(rsa_, ir.Constant(i64, i)) for i in range(mr)]

            def cptr(i, j):
                row = builder.gep(pc, [builder.mul(ldc_, ir.Constant(i64, i))])
                return builder.bitcast(builder.gep(row, [ir.Constant(i64, j * vw)]), vptr)

            with builder.if_then(builder.icmp_signed("!=", beta_, ir.Constant(beta_.type, 0))):
                for i in range(mr):
                    for j in range(nv):
                        builder.store(builder.call(mload, [cptr(i, j), align, masks[j], zero]),
                                      accs[i][j])
            bmask = ir.Constant(ir.VectorType(i32, vw), [0] * vw)
            with cgutils.for_range(builder, kc_) as loop:
                p = loop.index
                brow = builder.gep(pb, [builder.mul(p, rsb_)])
                bv = [builder.call(mload, [builder.bitcast(
                    builder.gep(brow, [ir.Constant(i64, j * vw)]), vptr), align, masks[j], zero])
                    for j in range(nv)]
                acol = builder.gep(pa, [builder.mul(p, csa_)])
                for i in range(mr):
                    x = builder.load(builder.gep(acol, [arow[i]]))
                    splat = builder.insert_element(ir.Constant(vec, ir.Undefined), x,
                                                   ir.Constant(i32, 0))
                    splat = builder.shuffle_vector(splat, ir.Constant(vec, ir.Undefined), bmask)
                    for j in range(nv):
                        builder.store(builder.call(fma, [splat, bv[j],
                                                         builder.load(accs[i][j])]), accs[i][j])
            for i in range(mr):
                for j in range(nv):
                    builder.call(mstore, [builder.load(accs[i][j]), cptr(i, j), align, masks[j]])
            return context.get_dummy_value()

        return sig, codegen

    return ukernel


# kernels for full micro-panels (MR rows) and for the bottom edge (4, 2 and 1 rows: an edge of
# h < MR rows is cut into them, so A is never copied), each 1, 2 or 3 vectors wide
(_uk8_1, _uk8_2, _uk8_3, _uk4_1, _uk4_2, _uk4_3,
 _uk2_1, _uk2_2, _uk2_3, _uk1_1, _uk1_2, _uk1_3) = (
    _make_ukernel(mr, nv) for mr in (MR, 4, 2, 1) for nv in (1, 2, 3))


@numba.njit(cache=True)
def _ukernel(mr, nv, a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w):
    """The kernel ``mr`` rows by ``nv`` vectors (arguments as in :func:`_make_ukernel`)."""
    if mr == MR:
        if nv == 1:
            _uk8_1(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
        elif nv == 2:
            _uk8_2(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
        else:
            _uk8_3(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
    elif mr == 4:
        if nv == 1:
            _uk4_1(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
        elif nv == 2:
            _uk4_2(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
        else:
            _uk4_3(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
    elif mr == 2:
        if nv == 1:
            _uk2_1(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
        elif nv == 2:
            _uk2_2(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
        else:
            _uk2_3(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
    else:
        if nv == 1:
            _uk1_1(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
        elif nv == 2:
            _uk1_2(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)
        else:
            _uk1_3(a, a0, rsa, csa, b, b0, rsb, kc, c, c0, ldc, beta, w)


@numba.njit(cache=True)
def _pack_b(B, pc, kc, jc, nc, nr, Bp):
    """Bp[jp*kc + p, jj] = B[pc + p, jc + jp*nr + jj] for the columns up to jc + nc.
    Only B whose rows are not contiguous is packed, so the copy runs down its columns; the
    lanes past the last column are left as they are (the kernel's loads mask them off)."""
    for jp in range((nc + nr - 1) // nr):
        j0 = jc + jp * nr
        dst = Bp[jp * kc: (jp + 1) * kc]
        for jj in range(min(nr, jc + nc - j0)):
            src = B[pc: pc + kc, j0 + jj]
            for p in range(kc):
                dst[p, jj] = src[p]


@numba.njit(cache=True)
def gemm(A, B):
    """A @ B for 2-D float arrays of one dtype (any strides); a new C-contiguous array.

    Loop order: column blocks of B (NC) > depth blocks (KC; B's block, ~400 KB, stays in L2)
    > micro-panels of A (MR rows, in L1 while the kernel sweeps the B block) > micro-panels of
    B (NR columns) > micro-kernel.  The kernel reads A in place at any strides (the bottom
    edge with kernels of 4, 2 and 1 rows), and B in place when its rows are contiguous; only B
    with other strides is packed into a workspace.  Columns past the right edge are masked off
    in the kernel."""
    m, k = A.shape
    n = B.shape[1]
    dt = A.dtype
    C = np.empty((m, n), dt)
    if k == 0:
        C[:] = 0.0
        return C
    if m == 0 or n == 0:
        return C
    vw = VBYTES // A.itemsize
    nv = min(NV, (n + vw - 1) // vw)  # narrow products: narrower micro-panels
    nr = nv * vw
    ncmax = max(nr, (NC_BYTES // (KC_MAX * A.itemsize)) // nr * nr)
    nkb = (k + KC_MAX - 1) // KC_MAX
    kcb = (k + nkb - 1) // nkb          # balanced depth: no thin last block
    ncb = min(ncmax, ((n + nr - 1) // nr) * nr)
    direct_b = B.strides[1] == B.itemsize
    Cf = C.reshape(m * n)
    if direct_b:  # no workspace (an empty view of C, so that Bp has one type)
        Bp = Cf[:0].reshape((0, nr))
    else:  # B's workspace, cache-line aligned (vector loads that straddle two lines cost twice)
        line = 64 // A.itemsize
        work = np.empty(kcb * ncb + line, dt)
        off = (-(work.ctypes.data // A.itemsize)) % line
        Bp = work[off: off + kcb * ncb].reshape((kcb * ncb // nr, nr))  # panel jp: rows jp*kc...
    Bs = B if direct_b else Bp  # what the kernel reads (one type: Numba unifies the layouts)
    isz = A.itemsize  # strides in elements, derived once (a division per kernel call costs)
    rsa, csa = A.strides[0] // isz, A.strides[1] // isz
    rsb = B.strides[0] // isz if direct_b else nr
    for jc in range(0, n, ncb):
        nc = min(ncb, n - jc)
        for pc in range(0, k, kcb):
            kc = min(kcb, k - pc)
            beta = 0 if pc == 0 else 1
            if not direct_b:
                _pack_b(B, pc, kc, jc, nc, nr, Bp)
            for i0 in range(0, m, MR):
                h = min(MR, m - i0)
                for jp in range((nc + nr - 1) // nr):
                    j0 = jc + jp * nr
                    w = min(nr, n - j0)
                    b0 = pc * rsb + j0 if direct_b else jp * kc * nr
                    if h == MR:
                        _ukernel(MR, nv, A, i0 * rsa + pc * csa, rsa, csa, Bs, b0, rsb, kc,
                                 Cf, i0 * n + j0, n, beta, w)
                        continue
                    i = i0  # bottom edge: 4 + 2 + 1 rows at most, still in place
                    for mr in (4, 2, 1):
                        if h & mr:
                            _ukernel(mr, nv, A, i * rsa + pc * csa, rsa, csa, Bs, b0, rsb, kc,
                                     Cf, i * n + j0, n, beta, w)
                            i += mr
    return C


# Products of fewer multiply-adds (m * n * k) go to BLAS: below it, the calls cost more than
# they save.  Neither do products of fewer than half a vector of columns (n = 1 is a matrix-
# vector product, which BLAS does better).  Measured on one core, AVX-512 host, OpenBLAS with
# AVX2 kernels, float64, own vs BLAS: 16x16x16 0.9 vs 1.1 us, 64x64x64 6.0 vs 12.3 us,
# 256x784x256 1.0 vs 2.0 ms, narrow 10000x10x10 60 vs 103 us, 10x10000x10 48 vs 126 us,
# 10000x10x4 35 vs 42 us, but 100x100x1 3.5 vs 1.6 us; float32 1000x100x4 28 vs 22 us.
MIN_WORK = 1 << 10
SMALL_WORK = 1 << 18  # 64 x 64 x 64


def gemm_limit() -> int | None:
    """The largest m*n*k that generated code hands to :func:`gemm`, or None for "always BLAS".

    ``SRCAD_GEMM=blas`` never uses it, ``SRCAD_GEMM=own`` uses it at every size.  The default,
    ``auto``, uses it only on hosts with 512-bit vectors (it was not measured against BLAS with
    256-bit ones), and at every size only where BLAS runs on one thread: the process may use
    one CPU, or ``OPENBLAS_NUM_THREADS`` (else ``OMP_NUM_THREADS``) is 1.  Otherwise BLAS may
    split a product over threads and gemm does not, so gemm takes products up to
    ``SMALL_WORK`` only, which a threaded BLAS runs on one thread anyway.
    """
    mode = os.environ.get("SRCAD_GEMM", "auto")
    if mode == "blas":
        return None
    if mode == "own":
        return 1 << 62
    if mode != "auto":
        raise ValueError(f"SRCAD_GEMM={mode!r}: expected auto, own or blas")
    if VBYTES < 64:
        return None
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    return 1 << 62 if cpus == 1 or threads == "1" else SMALL_WORK


@numba.njit(cache=True)
def matmul(a, b, limit):
    """``np.dot(a, b)`` for 2-D a, b of one float dtype: :func:`gemm` where it is faster (at
    least half a vector of columns, MIN_WORK to ``limit`` multiply-adds), else BLAS (which
    also reports shape mismatches)."""
    m, k = a.shape
    n = b.shape[1]
    work = m * n * k
    if k == b.shape[0] and 2 * n * a.itemsize >= VBYTES and MIN_WORK <= work <= limit:
        return gemm(a, b)
    return np.dot(a, b)
