"""One version source: ``gpuqd.version.__version__`` (re-exported as ``gpuqd.__version__``);
pyproject.toml reads it (``dynamic = ["version"]``) and the installed metadata agrees."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import gpuqd
from gpuqd.version import __version__

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))


def test_pyproject_takes_the_version_from_the_package():
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gpuqd.version.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__) and gpuqd.__version__ == __version__


def test_installed_metadata_has_the_package_version():
    assert importlib.metadata.version("gpuqd") == gpuqd.__version__
