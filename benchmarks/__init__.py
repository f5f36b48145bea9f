"""Benchmark suite for srcad.

Run ``python -m benchmarks`` for every workload, or ``python -m benchmarks seed``
/ ``rk4`` / ``arrays`` / ``vmath`` for one. See ``benchmarks/README.md``.

Single thread: the targets compare implementations on one core, so BLAS (under NumPy and
Numba's ``np.dot``), XLA and PyTorch get one thread each, set here before any of them loads.
Set the variables yourself (e.g. ``OPENBLAS_NUM_THREADS=4``) to measure otherwise.
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS",
                      "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

WORKLOADS = ("seed", "rk4", "arrays", "vmath")
