"""``campaigns drift`` on synthetic traffic in local storage: quiet when nothing moved,
exit code 1 and a stored report when the confidence distribution shifts."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from campaigns.config import get_settings
from campaigns.nomenclatures import old_nomenclature
from campaigns.storage import Storage
from campaigns.traffic.drift import DRIFT_SCHEMA, drift_between
from campaigns.traffic.window import Window
from services.cli import _FriendlyErrors
from services.cli.drift import register

# Same seed = same code popularity, so only the confidence can differ between periods:
# 60 days of one distribution (baseline, then "same"), then 30 days with shifted confidences.
SAME_END, SHIFTED_END = "2026-09-30", "2026-10-30"


def _drift_app() -> typer.Typer:
    app = typer.Typer(cls=_FriendlyErrors)

    @app.callback()
    def main() -> None:
        """Test group: the drift command as the real CLI will hold it."""

    register(app)
    return app


@pytest.fixture
def drift_cli():
    runner = CliRunner()
    app = _drift_app()

    def invoke(*args: str):
        return runner.invoke(app, ["drift", *args], catch_exceptions=False)

    return invoke


def _lower_confidence(src: Path, dst: Path) -> None:
    """Same requests and top codes, but every other line has a runner-up closer to the top.

    On those lines the two best scores keep their sum, split 70/30: the confidence index (top
    score minus runner-up) becomes 0.4 times their sum, below 0.4 instead of mostly above 0.5.
    Half the traffic moves, so every bin stays populated: a real, moderate shift.
    """
    with src.open() as lines, dst.open("w") as out:
        for i, line in enumerate(lines):
            record = json.loads(line)
            if i % 2 == 0:
                first, second = record["predictions"][:2]
                pair = first["score"] + second["score"]
                first["score"], second["score"] = round(0.7 * pair, 6), round(0.3 * pair, 6)
            record["request_id"] = f"shifted-{record['request_id']}"
            out.write(json.dumps(record) + "\n")


@pytest.fixture
def traffic(local_env, tmp_path: Path, cli) -> None:
    stable, raw = tmp_path / "stable.jsonl", tmp_path / "raw.jsonl"
    cli("traffic", "generate", str(stable), "--lines", "8000", "--days", "60",
        "--end", SAME_END, "--seed", "1")  # fmt: skip
    cli("traffic", "generate", str(raw), "--lines", "4000", "--days", "30",
        "--end", SHIFTED_END, "--seed", "1")  # fmt: skip
    shifted = tmp_path / "shifted.jsonl"
    _lower_confidence(raw, shifted)
    cli("traffic", "ingest", str(stable), str(shifted))


def _drift_files(root: Path) -> list[Path]:
    return sorted((root / "metrics" / "drift").glob("computed=*/*.parquet"))


def test_same_distribution_gives_no_alert_and_exit_0(traffic, drift_cli):
    result = drift_cli("--days", "30", "--end", SAME_END)
    assert result.exit_code == 0, result.output
    assert "ALERT" not in result.output and "No alert." in result.output
    assert "overall:codes" in result.output
    assert "exit code 1 = alert, for schedulers; 2 = error" in drift_cli("--help").output
    (path,) = _drift_files(Path(get_settings().storage_root))
    assert path.name == "2026-08-02_2026-09-01__2026-09-01_2026-10-01.parquet"


def test_shifted_confidence_alerts_with_exit_1_and_stores_one_row_per_report(traffic, drift_cli):
    result = drift_cli("--days", "30", "--end", SHIFTED_END)
    assert result.exit_code == 1, result.output
    assert "ALERT" in result.output and "PSI drift on overall:" in result.output

    settings = get_settings()
    (path,) = _drift_files(Path(settings.storage_root))
    assert path.name == "2026-09-01_2026-10-01__2026-10-01_2026-10-31.parquet"
    stored = pq.read_table(path)
    assert stored.schema.equals(DRIFT_SCHEMA)

    # The stored file holds exactly the reports the core computes for the same windows.
    expected = drift_between(
        Storage.from_settings(settings),
        Window(date(2026, 9, 1), date(2026, 10, 1)),
        Window(date(2026, 10, 1), date(2026, 10, 31)),
        old_nomenclature(settings).division_sections(),
    )
    assert stored.num_rows == len(expected.reports) >= 3
    assert stored["scope"].to_pylist() == [r.scope for r in expected.reports]
    assert stored["psi"].to_pylist()[0] > 0.2
    assert set(stored["window_b_start"].to_pylist()) == {date(2026, 10, 1)}


def test_no_write_accuracy_floor_and_empty_window(traffic, drift_cli):
    ok = ["--days", "30", "--end", SAME_END, "--no-write"]
    assert drift_cli(*ok).exit_code == 0
    assert drift_cli(*ok, "--accuracy-min", "0.9", "--accuracy", "0.95").exit_code == 0
    low = drift_cli(*ok, "--accuracy-min", "0.9", "--accuracy", "0.8")
    assert low.exit_code == 1 and "Accuracy 0.8000 below the floor 0.9" in low.output
    longer = drift_cli("--days", "30", "--end", SHIFTED_END, "--baseline-days", "60", "--no-write")
    assert longer.exit_code == 1 and "vs baseline 2026-08-02 to 2026-09-30" in longer.output
    assert _drift_files(Path(get_settings().storage_root)) == []

    empty = drift_cli("--days", "30", "--end", "2027-06-30")
    assert empty.exit_code == 2 and "No traffic between" in empty.output
