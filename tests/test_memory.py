"""srcad.keep_freed_memory (srcad/memory.py): with glibc's thresholds raised, a gradient
called again reuses the memory its previous call freed instead of faulting in fresh pages."""
import os
import subprocess
import sys
import textwrap

import pytest

import srcad

_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np
    import srcad

    def f(x):  # taped arrays of 400 KB per iteration: ~8 MB of tape per call
        s = np.zeros_like(x)
        for k in range(20):
            s = s + np.sin(x * k)
        return np.sum(s * s)

    if sys.argv[1] == "keep":
        assert srcad.keep_freed_memory()
    g = srcad.grad(f)
    x = np.linspace(0.0, 1.0, 50_000)
    for _ in range(3):
        g(x)
    r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        g(x)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0) / 10)
""")


def _faults(path, mode: str) -> float:
    env = dict(os.environ)
    env.pop("SRCAD_KEEP_MEMORY", None)
    out = subprocess.run([sys.executable, str(path), mode], capture_output=True,
                         text=True, env=env, timeout=300, check=True)
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.environ.get("SRCAD_KEEP_MEMORY"),
                    reason="glibc malloc thresholds (Linux), measured without the variable")
def test_repeated_gradient_reuses_freed_memory(tmp_path):
    script = tmp_path / "faults.py"  # srcad reads the function's source: a real file
    script.write_text(_SCRIPT)
    default, kept = _faults(script, "default"), _faults(script, "keep")
    # ~2,000 pages of tape per call: glibc returns them at the end of each call by default
    assert kept < 100 < default


def test_keep_freed_memory_is_public():
    assert srcad.keep_freed_memory is srcad.memory.keep_freed_memory
