"""Reading YAML input for the configuration: pure helpers the config module calls.

* :func:`load_yaml`: safe loader (``1e-4`` is a float, as in YAML 1.2) that rejects duplicate keys
  with both line numbers (plain PyYAML silently keeps the last one);
* :func:`suggest_key_path`: the full key path for a key given at the wrong level
  (``dt`` → ``dynamics.dt``);
* :func:`describe_type`: "an integer", "a string", ... for messages on type mismatches, with
  :func:`quote_hint` for values YAML read as a number or boolean where a string was meant;
* :func:`command_line`: the user's real command line, for "continue with ..." hints.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

__all__ = ["YAMLInputError", "load_yaml", "suggest_key_path", "describe_type", "quote_hint", "command_line"]


class YAMLInputError(ValueError):
    """Invalid YAML input (one line: source, line, problem)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader: ``1e-4`` / ``2e4`` are floats; duplicate mapping keys are errors."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # unhashable key: let PyYAML report it
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key '{key}' at line {line} (first given at line {first}); remove one of them",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def load_yaml(text: str, source: str = "<string>", error: type[Exception] = YAMLInputError) -> Any:
    """Parse YAML ``text``; syntax errors and duplicate keys raise ``error`` with a one-line message
    ``<source>: ...`` naming the line(s).
    """
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if problem.startswith("duplicate key"):
            raise error(f"{source}: {problem}") from None
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise error(f"{source}: invalid YAML{where}: {problem}") from None


def suggest_key_path(path: str, key_paths: Iterable[str]) -> str | None:
    """The full key path meant by an unknown ``path`` (``"dt"`` or ``"magnet.dt"`` → ``"dynamics.dt"``).

    Looks for schema paths whose last component equals the last component of ``path`` (then for
    close spellings of it); returns None when there is no single good candidate.
    """
    paths = list(key_paths)
    leaf = path.rsplit(".", 1)[-1]
    exact = [p for p in paths if p.rsplit(".", 1)[-1] == leaf and p != path]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        return " or ".join(exact)
    leaves = {p.rsplit(".", 1)[-1]: p for p in paths}
    close = difflib.get_close_matches(leaf, list(leaves), n=1, cutoff=0.75)
    return leaves[close[0]] if close and leaves[close[0]] != path else None


_TYPES = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "a mapping"),
    (type(None), "null (empty)"),
)


def describe_type(value: Any) -> str:
    """``"an integer"``, ``"a string"``, ... (YAML terms) for ``value``."""
    for t, text in _TYPES:
        if isinstance(value, t):
            return text
    return f"a {type(value).__name__}"


def quote_hint(key: str, value: Any) -> str:
    """For a scalar YAML did not read as a string: ``"; quote it: name: \\"123\\""`` (else ``""``)."""
    if isinstance(value, bool | int | float):
        text = {True: "true", False: "false"}.get(value, repr(value)) if isinstance(value, bool) else repr(value)
        return f'; {text} is {describe_type(value)} in YAML, quote it: {key}: "{text}"'
    return ""


def command_line(
    argv: Sequence[str] | None, add: Sequence[str] = (), drop: Sequence[str] = (), prog: str = "gpuqd"
) -> str:
    """The command line ``prog argv...`` (shell-quoted) with the flags ``drop`` removed and ``add``
    appended when absent — e.g. the real ``run`` command plus ``--resume``, --set flags kept.
    """
    args = [a for a in (argv or []) if a not in drop]
    args += [a for a in add if a not in args]
    return shlex.join([prog, *args])
