"""In-place array writes are not supported yet: srcad must say so, with the location."""


def write(x):
    y = x * 2.0
    y[0] = 1.0
    return y.sum()
