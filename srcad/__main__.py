"""``python -m srcad demo``: the seed example end to end (IR, generated reverse-mode source,
gradient, finite-difference check)."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def f(x1, x2):
    return np.log(x1) + x1 * x2 - np.sin(x2)


def demo() -> int:
    import srcad
    from srcad.testing import central_difference

    print("f(x1, x2) = np.log(x1) + x1 * x2 - np.sin(x2)    at (2.0, 5.0)\n")
    print(srcad.show(f, 2.0, 5.0, mode="reverse"))
    t0 = time.perf_counter()
    df = srcad.differentiate(f)
    value, grad = df.value_and_grad(2.0, 5.0)
    t1 = time.perf_counter()
    print(f"value            {value!r}")
    print(f"gradient         {grad!r}   (first call, incl. compile: {t1 - t0:.2f} s)")
    fd = tuple(float(central_difference(f, (2.0, 5.0), [0, 1], np.eye(2)[k])[0])
               for k in range(2))
    print(f"finite diffs     {fd!r}")
    print(f"forward mode     {srcad.jvp(f, (2.0, 5.0), (1.0, 0.0))[1]!r} (d/dx1)")
    err = max(abs(a - b) for a, b in zip(grad, fd))
    print(f"max |grad - fd|  {err:.2e}  -> {'OK' if err < 1e-6 else 'MISMATCH'}")
    return 0 if err < 1e-6 else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m srcad")
    p.add_argument("command", choices=["demo"], nargs="?", default="demo")
    p.parse_args(argv)
    return demo()


if __name__ == "__main__":
    sys.exit(main())
