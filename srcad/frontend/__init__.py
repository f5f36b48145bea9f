"""Frontend: Python source -> typed SSA IR, with located errors."""
from .calls import checkpoint  # noqa: F401
from .lower import lower_function  # noqa: F401
from .source import parse_function  # noqa: F401
from . import library  # noqa: F401  (registers more NumPy calls)
