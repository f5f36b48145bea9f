"""Benchmark suite for srcad.

Run ``python -m benchmarks`` for every workload, or ``python -m benchmarks seed``
/ ``rk4`` / ``arrays`` / ``vmath`` for one. See ``benchmarks/README.md``.

Single thread: the targets compare implementations on one core, so the process is pinned to
one CPU and BLAS (under NumPy and Numba's ``np.dot``), XLA and PyTorch get one thread each,
set here before any of them loads.  ``BENCH_ALL_CORES=1`` keeps every core; setting the
thread variables yourself (e.g. ``OPENBLAS_NUM_THREADS=4``) overrides ours.

OpenBLAS (the wheels' DYNAMIC_ARCH build) runs its AVX2 kernels on AVX-512 AMD CPUs;
``OPENBLAS_CORETYPE=SKYLAKEX`` (set here when the CPU has AVX-512 and the variable is unset)
selects its AVX-512 kernels, which XLA uses anyway: measured 2.1 -> 1.2 ms for a 256x784 @
784x256 product on one core of this machine's EPYC, JAX 1.0 ms.

Memory: glibc keeps freed memory for the next call (``srcad.keep_freed_memory()``, for every
implementation in the process alike) unless ``BENCH_DEFAULT_MALLOC=1``; by default it returns
large freed blocks to the kernel and each call faults fresh pages in (GMM: ~9,300 page
faults, ~18 ms of system time per srcad gradient call on this machine).
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS",
                      "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def _avx512() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


if "OPENBLAS_CORETYPE" not in os.environ and _avx512():
    os.environ["OPENBLAS_CORETYPE"] = "SKYLAKEX"
if hasattr(os, "sched_setaffinity") and os.environ.get("BENCH_ALL_CORES") != "1":
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

if os.environ.get("BENCH_DEFAULT_MALLOC") != "1":
    from srcad.memory import keep_freed_memory

    KEPT_MEMORY = keep_freed_memory()
else:
    KEPT_MEMORY = False

WORKLOADS = ("seed", "rk4", "arrays", "vmath", "checks")
