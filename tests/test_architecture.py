"""Architecture of the package, from its source (ast): no import cycles within gpuqd/, no import of
another module's underscore names, small modules.

Every ``import`` statement counts, also those inside functions (a function-level import does not
break a cycle, it only hides it). Edges go to the imported gpuqd module (``from gpuqd.a import b``
with a module ``gpuqd.a.b`` is an edge to it, otherwise to ``gpuqd.a``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gpuqd"
MAX_MODULE_LINES = 450
#: the pipeline loop module and its limit
PIPELINE_MODULE, MAX_PIPELINE_LINES = "gpuqd.run.pipeline", 250


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom) -> str | None:
    """Absolute module of a ``from ... import`` (relative imports resolved against ``module``)."""
    if node.level == 0:
        return node.module
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported gpuqd module, imported name or None, line) for every import statement of ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "gpuqd"]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            if not source or source.split(".")[0] != "gpuqd":
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                out.append((sub, None, node.lineno) if sub in MODULES else (source, alias.name, node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m in MODULES:
        for target, _, _ in _imports(m):
            if target in MODULES and target != m:
                graph[m].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, f"import cycles within gpuqd/: {cycles}"


def test_cycle_detector_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_underscore_names_from_other_modules():
    bad = []
    for m in MODULES:
        for target, name, line in _imports(m):
            if name is not None and _private(name) and target != m:
                bad.append(f"{MODULES[m].relative_to(PACKAGE.parent)}:{line}: from {target} import {name}")
        # attribute access to another module's private name: ``module._name``
        tree = ast.parse(MODULES[m].read_text(encoding="utf-8"))
        module_aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(m, node)
                for alias in node.names:
                    if source and f"{source}.{alias.name}" in MODULES:
                        module_aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in MODULES and alias.asname:
                        module_aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases
                and _private(node.attr)
            ):
                bad.append(
                    f"{MODULES[m].relative_to(PACKAGE.parent)}:{node.lineno}: "
                    f"{module_aliases[node.value.id]}.{node.attr}"
                )
    assert not bad, "underscore names used from other modules:\n" + "\n".join(bad)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_size(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    limit = MAX_PIPELINE_LINES if module == PIPELINE_MODULE else MAX_MODULE_LINES
    assert lines <= limit, f"{MODULES[module]} has {lines} lines (allowed <= {limit})"


def test_pipeline_module_exists():
    assert PIPELINE_MODULE in MODULES


#: Layers, bottom to top: a module may import modules of its own layer and of the layers below. A
#: module's layer is that of the longest entry that names it or one of its packages; an entry
#: "=name" names the module itself only (a package whose ``__init__`` re-exports from its own modules
#: sits above them). Every module must have a layer (:func:`test_every_module_has_a_layer`).
LAYERS: tuple[tuple[str, ...], ...] = (
    # the package root (__version__; gpuqd.load_run is a lazy re-export, see UPWARD_ALLOWED), base helpers
    ("=gpuqd", "gpuqd.units", "gpuqd.atomic_io", "gpuqd.version", "gpuqd.interrupts", "gpuqd.blas"),
    ("gpuqd.transport",),
    # dynamics, in rooms: model, noise, layout, kernel source and host build, EnsembleSpec/EngineConfig
    ("gpuqd.dynamics",),
    ("gpuqd.dynamics.engines",),  # numpy / cpu / cupy engines and the backend registry
    ("gpuqd.dynamics.runner",),  # EnsembleRunner, run_ensemble: pick an engine, drive it
    ("=gpuqd.dynamics",),  # the package's re-exports
    ("gpuqd.observables",),
    # run, in rooms
    ("=gpuqd.run", "gpuqd.run.errors"),
    ("gpuqd.run.config",),  # schema, YAML input, typed configuration, validation, factories
    ("gpuqd.run.store",),  # run directory, results, NetCDF, cache, file errors
    ("gpuqd.run.execute",),  # executors, work units, checkpoints, lock, progress, device
    # what a stage's estimate uses: cost coefficients (cached, measured, static), estimate lines, models
    ("gpuqd.run.costs",),
    ("gpuqd.run.stages",),  # the stage interface (base) and one module per output
    ("gpuqd.run.costs.estimate",),  # the run estimate: the sum of its stages' estimates
    ("gpuqd.run.pipeline", "gpuqd.run.load"),  # the loop; the front door for reading runs
    ("gpuqd.plots",),
    ("gpuqd.api",),  # the one-call Python API: builds a config and runs the pipeline
    ("gpuqd.cli",),
)
#: The documented upward imports (importer, imported module or package), each with its reason.
UPWARD_ALLOWED: dict[tuple[str, str], str] = {
    ("gpuqd", "gpuqd.run.load"): "gpuqd.load_run, the top-level convenience re-export (lazy, inside the function)",
    ("gpuqd", "gpuqd.api"): "gpuqd.switching_times / theta_map / torque_curve: lazy re-exports (module __getattr__)",
    ("gpuqd.run.config.validate", "gpuqd.run.stages"): "the schema is the core sections plus the sections the "
    "stages declare (the stage registry), so that adding an output is adding one stage module",
}


def _layer(module: str) -> int | None:
    best, layer = (-1, False), None
    for rank, names in enumerate(LAYERS):
        for name in names:
            exact = name.startswith("=")
            name = name.lstrip("=")
            matches = module == name or (not exact and module.startswith(name + "."))
            if matches and (len(name), exact) > best:  # the longest name; "=name" before "name"
                best, layer = (len(name), exact), rank
    return layer


def test_every_module_has_a_layer():
    missing = sorted(m for m in MODULES if _layer(m) is None)
    assert not missing, f"modules without a layer (add them to LAYERS): {missing}"


def test_layer_lookup():
    assert _layer("gpuqd") == 0 and _layer("gpuqd.dynamics") > _layer("gpuqd.dynamics.runner")
    assert _layer("gpuqd.dynamics.engines.registry") > _layer("gpuqd.dynamics.engine_config")
    assert _layer("gpuqd.run.stages.base") > _layer("gpuqd.run.execute.checkpoint") > _layer("gpuqd.run.config.typed")
    assert _layer("gpuqd.run.unplaced_module") is None


def test_imports_follow_the_layers():
    bad = []
    for m, targets in _graph().items():
        for t in targets:
            lm, lt = _layer(m), _layer(t)
            if lm is None or lt is None or lt <= lm:
                continue
            if not any(m == a and (t == b or t.startswith(b + ".")) for a, b in UPWARD_ALLOWED):
                bad.append(f"{m} → {t}")
    assert not bad, "imports against the layers (tests/test_architecture.py:LAYERS): " + str(bad)


def test_allowed_upward_imports_are_still_used():
    """An exception that no import needs any more is removed, so that the list stays the truth."""
    graph = _graph()
    unused = [(a, b) for a, b in UPWARD_ALLOWED if not any(t == b or t.startswith(b + ".") for t in graph.get(a, ()))]
    assert not unused, f"UPWARD_ALLOWED entries no import uses: {unused}"
