"""Automatic differentiation on the IR: forward (JVP) and reverse (VJP) transforms."""
from .forward import jvp_function  # noqa: F401
from .reverse import vjp_function  # noqa: F401
