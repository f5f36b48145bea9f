"""Functions using the ``srcad.checkpoint`` loop marker (imported by test_loops)."""
import math

import srcad


def plain(x, n):
    y = x
    for i in range(n):
        y = y + 0.01 * math.sin(y * x + i * 0.001)
    return y * y


def make(every):
    def marked(x, n):
        y = x
        for i in srcad.checkpoint(range(n), every=every):
            y = y + 0.01 * math.sin(y * x + i * 0.001)
        return y * y
    return marked
