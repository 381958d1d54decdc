"""The tree is the architecture: the core never imports its entry points, and the nomenclature
package imports nothing else of ours."""

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
