"""Module-level values read by the functions of test_boundary.py's global tests: the tests
rebind them between calls (a notebook user editing a constant and rerunning a cell)."""
import numpy as np

SCALE = 2.0
POWER = 2
OFFSETS = (1.0, 2.0)
WEIGHTS = np.array([1.0, 2.0])


class Config:
    gain = 3.0


cfg = Config()


def helper(x):
    return SCALE * x


def scaled(x):
    return SCALE * x * x


def via_helper(x):
    return helper(x) + 1.0


def powered(x):
    return x ** POWER + OFFSETS[1] * x


def via_attribute(x):
    return cfg.gain * x


def weighted(x):
    return np.sum(WEIGHTS * x)


def scaled_array(x):
    return np.sum(SCALE * x * x)


def make_closure(k):
    def inner(x):
        return k * x * x

    def rebind(v):
        nonlocal k
        k = v
    return inner, rebind


class Holder:
    def __init__(self):
        self.k = 2.0

    @property
    def doubled(self):
        return self.k * 2.0  # a new float object per read


holder = Holder()


def reads_every_kind(x):
    return x[x > 0].sum() + np.sum(x[x > 0]) + holder.doubled * np.sum(x) + holder.k
