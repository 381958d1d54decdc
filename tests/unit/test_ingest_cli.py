"""``campaigns traffic ingest``: dirty lines are normal (exit 0), one summary line for the run,
user text never read as Rich markup, exit 2 only when a file cannot be ingested at all."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from services.cli import app


def line(request_id: str, **over: object) -> str:
    record: dict[str, object] = {
        "request_id": request_id,
        "timestamp": "2026-09-01T10:00:00Z",
        "text": "Boulangerie [/] patisserie",
        "predictions": [{"code": "1071C", "score": 0.9}],
    }
    record.update(over)
    return json.dumps(record)


def run(*args: str):
    return CliRunner().invoke(app, ["traffic", "ingest", *args], catch_exceptions=False)


def test_dirty_logs_exit_0_with_one_summary_line(local_env, tmp_path: Path):
    dirty = tmp_path / "dirty[bold].jsonl"
    dirty.write_bytes(
        b"\n".join(
            [
                line("d1").encode(),
                line("d2", timestamp="[/]").encode(),  # its reason quotes the markup
                line("d3").encode().replace(b"Boulangerie", b"Boulang\xffrie"),
                line("d1", text="Autre [bold]").encode(),  # a conflict
                line("d4").encode(),
            ]
        )
        + b"\n"
    )
    clean = tmp_path / "clean.jsonl"
    clean.write_text(line("c1") + "\n" + line("d4") + "\n")

    result = run(str(dirty), str(clean))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == [
        "2 files: 7 lines, 3 ingested, 1 duplicates, 1 conflicts, 2 quarantined "
        "(invalid UTF-8: 1, invalid timestamp: 1); "
        f"see {tmp_path / 'store' / 'quarantine/ingest'} and "
        f"{tmp_path / 'store' / 'conflicts/ingest'}"
    ]

    again = run(str(dirty))
    assert again.exit_code == 0
    assert again.stdout.strip() == (
        "1 file (1 already ingested, skipped): 0 lines, 0 ingested, 0 duplicates, "
        "0 conflicts, 0 quarantined"
    )


def test_a_file_that_cannot_be_read_fails_the_run_after_the_others(local_env, tmp_path: Path):
    good = tmp_path / "good.jsonl"
    good.write_text(line("g1") + "\n")
    result = run(str(tmp_path / "missing[bold].jsonl"), str(good))
    assert result.exit_code == 2
    assert "missing[bold].jsonl: No log file at" in result.output
    assert "2 files (1 failed): 1 lines, 1 ingested" in result.stdout


def test_user_text_is_never_read_as_markup(local_env, tmp_path: Path):
    """A reason quoting a line's ``[/]`` used to crash the output (Rich markup)."""
    log = tmp_path / "markup.jsonl"
    log.write_text(line("m1", timestamp="[/]") + "\n" + line("m2") + "\n")
    result = run(str(log))
    assert result.exit_code == 0, result.output
    assert "1 ingested" in result.stdout and "(invalid timestamp: 1)" in result.stdout
