"""The package version (a leaf module: what records provenance imports it, not the package root)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.3.0"
