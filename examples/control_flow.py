"""Branches, while loops and early returns, differentiated as written.
Run: python examples/control_flow.py"""
import math

import srcad


def newton_sqrt(a):
    y = a
    while abs(y * y - a) > 1e-12 * a:
        y = 0.5 * (y + a / y)
    return y


def first_crossing(x, n):
    for i in range(n):
        if i * x > 3.0:
            return math.sin(i * x)
    return -x


if __name__ == "__main__":
    print("d sqrt(a)/da at 2:", srcad.grad(newton_sqrt)(2.0), "exact:", 0.5 / math.sqrt(2.0))
    print("d first_crossing/dx:", srcad.grad(first_crossing)(0.7, 10))
    print(srcad.show(first_crossing, 0.7, 10, mode="reverse"))
