"""srcad test suite."""
