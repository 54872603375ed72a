"""The module import graph of ``src/healthcode``: no cycles, and ``core`` imports downwards only.

The graph is read from the source (every ``import`` and ``from ... import``, including those
inside functions, which a lazy import would otherwise hide). An edge goes to the module named;
``from package import name`` goes to ``package.name`` when that is a module, else to the package.
Importing a module does not add an edge to its parent packages: a package whose ``__init__``
re-exports its submodules is not a cycle.

The layers of ``core``, lowest first (a module may import its own layer and those below)::

    0  errors, error codes, clock
    1  codecs (core/codes), CertLogic, and the data modules (regions, identity, facts)
    2  keys, audit (the Merkle log: hashing, proofs, signed notes, checkpoints, tiles)
    3  trust
    4  rules, verify
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import healthcode

PACKAGE = Path(healthcode.__file__).parent
ROOT_NAME = "healthcode"

#: Module name prefix -> layer, for the modules of core (the longest matching prefix counts).
CORE_LAYERS: Mapping[str, int] = {
    "healthcode.core.errors": 0,
    "healthcode.core.error_codes": 0,
    "healthcode.core.error_stages": 0,
    "healthcode.core.clock": 0,
    "healthcode.core.codes": 1,
    "healthcode.core.certlogic": 1,
    "healthcode.core.regions": 1,
    "healthcode.core.identity": 1,
    "healthcode.core.facts": 1,
    "healthcode.core.keys": 2,
    "healthcode.core.audit": 2,
    "healthcode.core.trust": 3,
    "healthcode.core.rules": 4,
    "healthcode.core.verify": 4,
}


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its ``__init__``)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = (ROOT_NAME, *path.relative_to(package).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name a ``from`` import refers to (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """The modules of the package that ``module`` imports anywhere in its source."""
    names = set(known)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, is_package, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in names else target)
    return {name for name in found if name in names and name != module}


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    files = module_files(package)
    return {name: imports_of(name, path, files) for name, path in files.items()}


def find_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (Tarjan, then a path in it)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                connect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_in(graph, set(c), c[0]) for c in components]


def _cycle_in(graph: Mapping[str, set[str]], members: set[str], start: str) -> list[str]:
    """A shortest path start -> ... -> start within one strongly connected component."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for succ in sorted(graph[node] & members):
            if succ == start:
                return [*paths[node], start]
            if succ not in paths:
                paths[succ] = [*paths[node], succ]
                queue.append(succ)
    raise AssertionError(f"{start} is in no cycle")


def layer_of(module: str) -> int | None:
    best = None
    for prefix, layer in CORE_LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, layer)
    return None if best is None else best[1]


def layer_violations(graph: Mapping[str, set[str]]) -> list[str]:
    out = []
    for module, targets in sorted(graph.items()):
        own = layer_of(module)
        if own is None:
            continue
        for target in sorted(targets):
            other = layer_of(target)
            if other is not None and other > own:
                out.append(f"{module} (layer {own}) imports {target} (layer {other})")
    return out


def test_no_import_cycle() -> None:
    cycles = find_cycles(import_graph())
    for cycle in cycles:
        print("cycle: " + " -> ".join(cycle))
    assert cycles == []


def test_every_core_module_has_a_layer() -> None:
    core = [name for name in module_files() if name.startswith("healthcode.core.")]
    assert [name for name in core if layer_of(name) is None] == []


def test_core_imports_downwards_only() -> None:
    violations = layer_violations(import_graph())
    for line in violations:
        print(line)
    assert violations == []


def test_every_layer_names_modules_that_exist() -> None:
    files = module_files()
    for prefix in CORE_LAYERS:
        assert any(name == prefix or name.startswith(prefix + ".") for name in files), prefix


# --- the checks themselves can fail ------------------------------------------------------------


def _write(root: Path, files: Mapping[str, str]) -> Path:
    package = root / ROOT_NAME
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from healthcode import b\n",
            "b.py": "def f():\n    from . import c\n",
            "c.py": "import healthcode.a\n",
        },
    )
    cycles = find_cycles(import_graph(package))
    assert cycles == [["healthcode.a", "healthcode.b", "healthcode.c", "healthcode.a"]]


def test_a_package_reexporting_its_modules_is_no_cycle(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "p/__init__.py": "from healthcode.p.m import X\n",
            "p/m.py": "from healthcode.p.n import Y\nX = Y\n",
            "p/n.py": "Y = 1\n",
        },
    )
    assert find_cycles(import_graph(package)) == []


def test_an_upward_import_in_core_is_reported() -> None:
    graph = {
        "healthcode.core.codes.native": {"healthcode.core.trust.certs"},
        "healthcode.core.trust.certs": set(),
        "healthcode.core.verify.native": {"healthcode.core.codes.native"},
    }
    assert layer_violations(graph) == [
        "healthcode.core.codes.native (layer 1) imports healthcode.core.trust.certs (layer 3)"
    ]
