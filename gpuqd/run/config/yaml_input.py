"""Reading YAML input for the configuration: pure helpers the config module calls.

* :func:`load_yaml`: safe loader (``1e-4`` is a float, as in YAML 1.2) that rejects duplicate keys
  with both line numbers (plain PyYAML silently keeps the last one), supports merge keys (``<<: *base``),
  and bounds the input before anything is expanded: at most :data:`MAX_YAML_BYTES` of text,
  :data:`MAX_ALIASES` aliases, :data:`MAX_DEPTH` levels of nesting, :data:`MAX_NODES` values once
  aliases are expanded (an "alias bomb" of 9 levels would be 10⁹) and :data:`MAX_INT_DIGITS` digits
  per integer;
* :func:`short_repr`: a value for a message, at most :data:`QUOTE_CHARS` characters;
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

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "MAX_NODES",
    "MAX_YAML_BYTES",
    "QUOTE_CHARS",
    "YAMLInputError",
    "command_line",
    "describe_type",
    "load_yaml",
    "quote_hint",
    "short_repr",
    "suggest_key_path",
]

#: limits on a configuration text (a real one has ~100 values, depth 4, no or a few aliases)
MAX_YAML_BYTES = 1 << 20
MAX_ALIASES = 1000
MAX_DEPTH = 64
MAX_NODES = 100_000
#: integers longer than this are no physical parameter (float64 holds 308 decimal orders)
MAX_INT_DIGITS = 30
#: characters of a value quoted in a message
QUOTE_CHARS = 80
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def short_repr(value: Any, limit: int = QUOTE_CHARS, quote: bool = True) -> str:
    """``repr(value)`` (``str`` if not ``quote``) cut to ``limit`` characters with "…"; never builds
    the repr of a huge container in full."""
    if isinstance(value, list | tuple | dict) and len(value) > limit:
        value = type(value)(list(value.items())[:limit]) if isinstance(value, dict) else type(value)(value[:limit])
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 4 * limit:
        return f"<an integer of about {int(abs(value).bit_length() * 0.30103)} digits>"
    text = repr(value) if quote else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class YAMLInputError(ValueError):
    """Invalid YAML input (one line: source, line, problem)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader: ``1e-4`` / ``2e4`` are floats; duplicate mapping keys are errors; merge keys are
    expanded (keys given in the mapping itself override merged ones, as in YAML 1.1); over-long
    integers are errors naming their key."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"an integer of {digits} digits (line {node.start_mark.line + 1}) is out of range; "
                f"allowed: at most {MAX_INT_DIGITS} digits (write large values as floats, e.g. 1e40)",
                node.start_mark,
            )
        return super().construct_yaml_int(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(value_node, yaml.ScalarNode) and value_node.tag == _INT_TAG:
                digits = sum(c.isdigit() for c in str(value_node.value))
                if digits > MAX_INT_DIGITS:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"'{short_repr(key, 40, quote=False)}' (line {value_node.start_mark.line + 1}): an integer "
                        f"of {digits} digits is out of range; allowed: at most {MAX_INT_DIGITS} digits",
                        value_node.start_mark,
                    )
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
        self.flatten_mapping(node)  # merge keys: merged pairs first, the mapping's own keys override them
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(_INT_TAG, _UniqueKeyLoader.construct_yaml_int)


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


def _check_tokens(text: str) -> None:
    """Nesting depth and alias count from the token stream (the scanner is not recursive, so a
    5000-deep input costs nothing here); ValueError naming the line."""
    depth = aliases = 0
    opening = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken)
    opening_flow = (yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)
    closing = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
    for token in yaml.scan(text, Loader=_UniqueKeyLoader):  # noqa: S506 - scanning only
        if isinstance(token, opening + opening_flow):
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(
                    f"nesting deeper than {MAX_DEPTH} levels (line {token.start_mark.line + 1}); "
                    f"a configuration has about 4"
                )
        elif isinstance(token, closing):
            depth -= 1
        elif isinstance(token, yaml.AliasToken):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ValueError(f"more than {MAX_ALIASES} aliases (line {token.start_mark.line + 1})")


def _expanded_size(root: yaml.Node | None) -> int:
    """Number of values ``root`` stands for once every alias is expanded (shared nodes counted at
    each use), computed on the node graph without expanding it; stops counting past MAX_NODES."""
    if root is None:
        return 0
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in size:
            continue
        if isinstance(node, yaml.ScalarNode):
            size[id(node)] = 1
            continue
        kids = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
        if not children_done:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in size)
            continue
        size[id(node)] = min(MAX_NODES + 1, 1 + sum(size.get(id(k), 1) for k in kids))
    return size[id(root)]


def load_yaml(text: str, source: str = "<string>", error: type[Exception] = YAMLInputError) -> Any:
    """Parse YAML ``text``; syntax errors, duplicate keys and inputs beyond the limits (size, aliases,
    depth, expanded size, integer length; checked before anything is expanded) raise ``error`` with a
    one-line message ``<source>: ...`` naming the line(s).
    """
    if len(text) > MAX_YAML_BYTES:
        raise error(f"{source}: {len(text)} characters is too long for a configuration (allowed <= {MAX_YAML_BYTES})")
    try:
        _check_tokens(text)
        loader = _UniqueKeyLoader(text)
        try:
            root = loader.get_single_node()
            if _expanded_size(root) > MAX_NODES:
                raise ValueError(
                    f"expands to more than {MAX_NODES} values through aliases (an alias bomb?); "
                    f"a configuration has about 100"
                )
            return loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except ValueError as exc:
        raise error(f"{source}: invalid YAML: {exc}") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problem = short_repr(problem, 200, quote=False)
        if problem.startswith("duplicate key") or problem.startswith("'") or problem.startswith("an integer"):
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
