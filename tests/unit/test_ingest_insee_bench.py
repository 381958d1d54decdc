"""The API-log ingest benchmark takes its size as an option and ends with the ratio to the
pandas + ast.literal_eval script (run here on a few hundred lines only)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bench_ingest_insee_compares_with_pandas_and_ends_with_the_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.syspath_prepend(str(ROOT))
    bench = importlib.import_module("benchmarks.bench_ingest_insee")
    monkeypatch.setattr(bench, "DATA", tmp_path / "data")  # not the benchmark's cache

    ratio = bench.main(["--lines", "300"])

    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("ingest of 300 API log lines")
    assert any("annotation-campaigns insee-api" in line for line in out)
    assert any("pandas + ast.literal_eval" in line for line in out)
    assert re.fullmatch(r"ratio: \d+\.\d\d", out[-1])
    assert float(out[-1].split()[-1]) == pytest.approx(ratio, abs=0.005)
    assert bench.build_parser().parse_args([]).lines == 1_000_000
