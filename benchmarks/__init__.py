"""Benchmark suite for srcad.

Run ``python -m benchmarks`` for every workload, or ``python -m benchmarks seed``
/ ``rk4`` / ``arrays`` / ``vmath`` for one. See ``benchmarks/README.md``.
"""

WORKLOADS = ("seed", "rk4", "arrays", "vmath")
