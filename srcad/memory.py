"""Keep freed memory in the process (glibc malloc), for array gradients called in a loop.

Generated code allocates its temporaries and reverse-mode tapes with Numba's runtime, i.e.
``malloc``.  glibc gives large blocks back to the kernel when they are freed (blocks above
the mmap threshold, and the top of the heap above the trim threshold), so the next call
touches fresh pages again: one page fault per 4 KiB.  Measured on the GMM gradient
(benchmarks/arrays.py; tapes of 25 arrays of 800 KB): ~9,300 page faults and ~18 ms of
system time per call, 0 and 0 ms after :func:`keep_freed_memory`.

This changes malloc for the whole process (that is what it is for: the memory a call freed is
there for the next call), so srcad never does it on its own: call it, or set
``SRCAD_KEEP_MEMORY=1`` before importing srcad.  The cost is that the process keeps its peak
heap instead of returning it to the system.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(trim_bytes: int = 1 << 30, mmap_bytes: int = 1 << 25) -> bool:
    """Raise glibc's trim threshold (freed heap stays mapped up to ``trim_bytes``) and mmap
    threshold (blocks under ``mmap_bytes`` come from the reusable heap).  Returns False where
    the C library is not glibc (nothing changed)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_bytes))
                and mallopt(_M_TRIM_THRESHOLD, int(trim_bytes)))


if os.environ.get("SRCAD_KEEP_MEMORY") == "1":
    keep_freed_memory()
