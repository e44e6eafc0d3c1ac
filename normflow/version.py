"""The version of normflow (one place, read by the package and its stores)."""

__version__ = "0.1.0"
