"""Code generation: IR -> readable Python source -> numba.njit (CPU)."""
from .cache import cache_dir, load_function, load_module  # noqa: F401
from .pysource import generate_module  # noqa: F401
