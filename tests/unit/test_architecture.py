"""The tree is the architecture: the core never imports its entry points, the nomenclature
package imports nothing else of ours, no module of the core imports itself back through others
(no import cycle) and no package imports one above it in :data:`LAYERS`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_core_never_imports_the_entry_points():
    offenders = {f for f, names in _imports("campaigns").items() if "services" in names}
    assert offenders == set()


def test_nace_mapping_imports_nothing_else_of_ours():
    offenders = {
        f for f, names in _imports("nace_mapping").items() if names & {"campaigns", "services"}
    }
    assert offenders == set()


def test_only_the_gateway_speaks_http_to_label_studio():
    speakers = {
        f
        for f, names in _imports("campaigns").items()
        if names & {"httpx", "requests", "label_studio_sdk"}
    }
    assert speakers == {"campaigns/labelstudio/gateway.py"}


def test_the_core_has_no_flat_pile_of_modules():
    top = sorted(p.name for p in (ROOT / "campaigns").glob("*.py"))
    assert len(top) <= 10, top


def test_the_api_and_the_cli_start_without_the_statistics():
    """Importing the API app (and the CLI) loads neither scipy nor scikit-learn: they are
    imported where they are used (the API's start took a second more with them)."""
    import subprocess
    import sys

    code = (
        "import sys, services.api.main, services.cli;"
        "print(sorted(m for m in ('scipy', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"


# From the bottom up: a package or top module imports only from its own layer or those below.
# The gold store sits under everything that reads exported gold (metrics, sampling's priors and
# reuse, the lifecycle's export, compare and trend) and knows nothing of them.
LAYERS = (
    ("__init__", "errors", "config", "duck", "storage", "nomenclatures"),
    ("state",),
    ("traffic",),
    ("gold",),
    ("metrics",),
    ("sampling",),
    ("labelstudio",),
    ("lifecycle",),
    ("recoding", "model_registry"),
    ("service",),
    ("job_actions",),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:`` (annotations only: never imported at run time)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return skipped


def core_import_graph() -> dict[str, set[str]]:
    """Module of ``campaigns`` -> the modules of ``campaigns`` it imports, at the top or inside a
    function (a late import is still an import), ``TYPE_CHECKING`` blocks left out."""
    paths = {_module_name(p): p for p in (ROOT / "campaigns").rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_nodes(tree)
        targets: set[str | None] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom):
                package = module.split(".")[: None if path.name == "__init__.py" else -1]
                base = node.module or ""
                if node.level:  # relative: from the package, one level up per extra dot
                    base = ".".join([*package[: len(package) - node.level + 1], base]).rstrip(".")
                for alias in node.names:  # ``from package import module`` names a module
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in paths else resolve(base))
            elif isinstance(node, ast.Import):
                targets.update(resolve(alias.name) for alias in node.names)
        graph[module] = {t for t in targets if t and t.startswith("campaigns") and t != module}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_the_core_has_no_import_cycle():
    graph = core_import_graph()
    assert "campaigns.gold.store" in graph["campaigns.lifecycle.export"]  # the graph is read
    assert import_cycles(graph) == []


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def test_no_import_runs_up_a_layer():
    graph = core_import_graph()
    upward = sorted(
        (m, t) for m, targets in graph.items() for t in targets if _layer(t) > _layer(m)
    )
    assert upward == []


def _code_strings(path: Path) -> set[str]:
    """The string constants of a module's code (docstrings and other bare strings left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bare = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    return {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in bare
    }


def test_only_the_gold_store_knows_where_exported_gold_lives():
    """Paths under ``exports/`` are spelled in the gold store's code alone."""
    spellers = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "campaigns").rglob("*.py")
        if any(s.startswith("exports") or "/LATEST" in s for s in _code_strings(p))
    }
    assert spellers == {"campaigns/gold/store.py"}


def test_nothing_below_the_service_imports_it_even_for_type_checking():
    """The recoding workflow (and every other core package) is handed what it needs instead."""
    importers = set()
    for path in (ROOT / "campaigns").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "campaigns.service":
                importers.add(str(path.relative_to(ROOT)))
    assert importers == {"campaigns/job_actions.py"}


def test_no_module_is_over_600_lines():
    """One concern per module: past 500 lines a module says why in its docstring."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "campaigns").rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}
