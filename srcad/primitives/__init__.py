"""Primitive registry; importing this package registers every primitive family."""
from . import registry, scalar  # noqa: F401
from .registry import REGISTRY, Primitive, smooth, nondiff, register  # noqa: F401
