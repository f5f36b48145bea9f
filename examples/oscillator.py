"""Gradient of an RK4-integrated damped pendulum with respect to its parameters and initial
state, with and without checkpointing.  Run: python examples/oscillator.py"""
import math

import srcad


def loss(k, c, x0, v0, n):
    x, v, dt = x0, v0, 0.01
    for i in range(n):
        k1x, k1v = v, -k * math.sin(x) - c * v
        k2x = v + 0.5 * dt * k1v
        k2v = -k * math.sin(x + 0.5 * dt * k1x) - c * k2x
        k3x = v + 0.5 * dt * k2v
        k3v = -k * math.sin(x + 0.5 * dt * k2x) - c * k3x
        k4x = v + dt * k3v
        k4v = -k * math.sin(x + dt * k3x) - c * k4x
        x = x + dt / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        v = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
    return x * x + v * v


if __name__ == "__main__":
    args = (1.5, 0.1, 1.0, 0.5, 1000)
    g = srcad.grad(loss, argnums=(0, 1, 2, 3))
    print("loss      ", srcad.differentiate(loss)(*args))
    print("gradient  ", g(*args))
    print("tape bytes", srcad.tape_size(loss, *args),
          "| with checkpointing:", srcad.tape_size(loss, *args, checkpoint=True))
    srcad.testing.check_grads(loss, args, modes=("fwd", "rev"))
    print("check_grads: forward, reverse and finite differences agree")
