"""The CLI answers at once: importing it loads none of the heavy data or HTTP libraries.

Each command imports what it needs when it runs; ``campaigns --help`` and every
``COMMAND --help`` only need Typer. See ``benchmarks/bench_cli_start.py`` for the times.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "duckdb",
    "pyarrow",
    "pandas",
    "numpy",
    "scipy",
    "sqlmodel",
    "sqlalchemy",
    "label_studio_sdk",
    "plotly",
    "matplotlib",
    "sklearn",
)


def _loaded_after(statement: str) -> set[str]:
    """Top-level packages loaded by ``statement`` in a fresh interpreter."""
    code = f"{statement}; import sys, json; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


def test_importing_the_cli_loads_no_heavy_library():
    assert sorted(_loaded_after("import services.cli") & set(HEAVY)) == []


def test_the_cli_defaults_repeated_for_help_follow_the_core():
    from campaigns.recoding.active_batches import DEFAULT_FLOOR
    from campaigns.recoding.dataset import DEFAULT_MIN_CONFIDENCE
    from services.cli import transition_dataset

    assert transition_dataset.DEFAULT_MIN_CONFIDENCE == DEFAULT_MIN_CONFIDENCE
    assert transition_dataset.DEFAULT_FLOOR == DEFAULT_FLOOR


def test_the_start_benchmark_prints_both_commands_beside_the_reference():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_cli_start", "--runs", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert sum("campaigns --help" in line for line in lines) == 2  # cached and not
    assert sum("traffic stats --help" in line for line in lines) == 2
    assert sum("import typer" in line for line in lines) == 2
    assert lines[-1].startswith("ratio: ") and float(lines[-1].split()[1]) > 0
