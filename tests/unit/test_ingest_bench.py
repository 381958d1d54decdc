"""The ingest benchmark takes its size as an option and ends with the ratio to DuckDB's copy.

Run here on a few hundred lines only (its default, 1M lines, is for humans)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bench_ingest_compares_three_ingests_and_ends_with_the_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.syspath_prepend(str(ROOT))
    common = importlib.import_module("benchmarks._common")
    monkeypatch.setattr(common, "DATA", tmp_path / "data")  # not the benchmark's cache
    bench = importlib.import_module("benchmarks.bench_ingest")

    ratio = bench.main(["--lines", "300"])

    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("ingest of 300 log lines")
    assert any("annotation-campaigns ingest_file" in line for line in out)
    assert any("DuckDB COPY read_json_auto" in line for line in out)
    assert any("DuckDB COPY into the traffic schema" in line for line in out)
    assert any("pandas read_json + to_parquet" in line for line in out)
    assert re.fullmatch(r"ratio: \d+\.\d\d", out[-1])
    assert float(out[-1].split()[-1]) == pytest.approx(ratio, abs=0.005)
    assert bench.build_parser().parse_args([]).lines == 1_000_000
