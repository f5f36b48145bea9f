"""``python -m benchmarks [workload ...]`` -- run the benchmark workloads."""

from __future__ import annotations

import importlib
import platform
import sys
import time

from benchmarks import KEPT_MEMORY, WORKLOADS
from benchmarks._timing import versions


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        print("workloads:", ", ".join(WORKLOADS))
        return 0
    names = argv or list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        print(f"unknown workload(s): {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
        return 2
    print(versions())
    print(f"{platform.machine()} / {platform.processor() or platform.platform()}")
    print("one CPU, one thread per library; malloc: "
          + ("freed memory kept for the next call (srcad.keep_freed_memory)" if KEPT_MEMORY
             else "glibc defaults (BENCH_DEFAULT_MALLOC=1)"))
    for name in names:
        t0 = time.perf_counter()
        importlib.import_module(f"benchmarks.{name}").main()
        print(f"({name}: {time.perf_counter() - t0:.1f} s in total)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
