"""CLI start: how long ``campaigns --help`` and ``campaigns traffic stats --help`` take.

Each figure is the median of ``--runs`` fresh processes (``subprocess``, wall time from the
parent; the process's CPU time beside it, which a loaded machine disturbs less), in two
conditions:

- cached: the modules' bytecode already written (one warm-up run first), the everyday case;
- uncached: ``PYTHONDONTWRITEBYTECODE=1`` and a fresh, empty ``PYTHONPYCACHEPREFIX`` per run,
  so every module (ours and the libraries') is compiled from source, as after an install
  into a fresh image or a changed checkout.

Reference (same run, same conditions, runs interleaved with ours): a bare
``python -c "import typer"``, the floor for any Typer CLI. The goal is at most 0.5 s for
every ``--help``.

The last line is ``ratio: X``: our slowest median / the reference's in the same condition
(lower is better).

    python -m benchmarks.bench_cli_start [--runs 11]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 0.5
COMMANDS = {
    "campaigns --help": ["--help"],
    "campaigns traffic stats --help": ["traffic", "stats", "--help"],
}
REFERENCE = "python -c 'import typer'"


def _campaigns(args: list[str]) -> list[str]:
    """The installed console script, else the same entry point through the interpreter."""
    script = Path(sys.executable).with_name("campaigns")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from services.cli import main; main()", *args]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], cached: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process."""
    env = os.environ | {"COLUMNS": "100", "TERM": "dumb"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # set in some shells: it would void "cached"
    prefix = None
    if not cached:
        prefix = tempfile.mkdtemp(prefix="bench-pycache-")
        env |= {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": prefix}
    try:
        cpu, start = _children_cpu(), time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    finally:
        if prefix:
            shutil.rmtree(prefix, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr.decode(errors='replace')}")
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="Processes per figure (median).")
    args = parser.parse_args()
    argvs = {name: _campaigns(a) for name, a in COMMANDS.items()}
    argvs[REFERENCE] = [sys.executable, "-c", "import typer"]
    medians: dict[bool, dict[str, tuple[float, float]]] = {}
    for cached in (True, False):
        if cached:
            for argv in argvs.values():  # write the bytecode once
                _run(argv, cached=True)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in argvs}
        for _ in range(args.runs):  # interleaved: the machine's load falls on every figure
            for name, argv in argvs.items():
                times[name].append(_run(argv, cached))
        medians[cached] = {
            name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
            for name, t in times.items()
        }

    print(f"CLI start, median of {args.runs} processes (goal: <= {GOAL_SECONDS} s per --help)")
    ratios = []
    for cached, figures in medians.items():
        label = "cached bytecode" if cached else "no bytecode (compiled from source)"
        reference, reference_cpu = figures[REFERENCE]
        print(f"  {label}:")
        for name in COMMANDS:
            wall, cpu = figures[name]
            ratio = wall / reference
            ratios.append(ratio)
            flag = "" if wall <= GOAL_SECONDS else "  over the goal"
            print(
                f"    ours, {name:32s}: {wall:6.3f} s (CPU {cpu:6.3f} s)  "
                f"{ratio:5.2f}x reference{flag}"
            )
        print(f"    reference, {REFERENCE:27s}: {reference:6.3f} s (CPU {reference_cpu:6.3f} s)")
    print(f"ratio: {max(ratios):.2f}")


if __name__ == "__main__":
    main()
