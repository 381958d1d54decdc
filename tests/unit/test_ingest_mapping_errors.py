"""A ``--map`` or ``--map-file`` DuckDB cannot use is one line and exit code 2, never a
``BinderException`` or ``AttributeError`` traceback; a backslash in a field name is a name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaigns.errors import InputFormatError
from campaigns.storage import Storage
from campaigns.traffic.formats.mapping import FieldMapping
from campaigns.traffic.ingest import ingest_file
from campaigns.traffic.window import traffic_dataset
from services.cli import app

RECORD = {
    "id": "m1",
    "date": "2026-09-01T10:00:00Z",
    "libelle": "Boulangerie",
    "predictions": [{"code": "1071C", "score": 0.9}],
    "a\\": "5499",
}


def write(tmp_path: Path) -> Path:
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
    return path


def ingest(*args: str):
    return CliRunner().invoke(app, ["traffic", "ingest", *args], catch_exceptions=False)


@pytest.mark.parametrize("source", ["..", ".libelle", "libelle.", "a..b", "."])
def test_an_empty_field_name_in_a_source_is_refused(source):
    with pytest.raises(InputFormatError, match="empty field name"):
        FieldMapping.parse(["request_id=id", f"text={source}"])


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--map", "text=.."], "The source '..' of text has an empty field name"),
        (["--map", "context.z=a..b"], "of context.z has an empty field name"),
    ],
)
def test_the_cli_exits_2_with_one_line(local_env, tmp_path: Path, args, said):
    result = ingest(
        "--map", "request_id=id", "--map", "timestamp=date", *args, str(write(tmp_path))
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and said in result.output
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1


def test_a_mapping_file_whose_map_is_not_a_table(local_env, tmp_path: Path):
    for body in ("map = 3\n", 'map = "libelle"\n', "map = [1, 2]\n"):
        mapping = tmp_path / "mapping.toml"
        mapping.write_text(body, encoding="utf-8")
        result = ingest("--map-file", str(mapping), str(write(tmp_path)))
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert "not a table of target = source" in result.output


def test_a_backslash_ending_a_field_name_is_read_as_the_name(tmp_path: Path):
    store = Storage.open(str(tmp_path / "store"))
    mapping = FieldMapping.parse(
        ["request_id=id", "timestamp=date", "text=libelle", "context.z=a\\"]
    )
    summary = ingest_file(write(tmp_path), store, mapping=mapping)
    assert (summary.written, summary.quarantined) == (1, 0)
    (row,) = traffic_dataset(store).to_table().to_pylist()
    assert json.loads(row["context"]) == {"z": "5499"}


def test_the_cli_reads_a_backslash_source(local_env, tmp_path: Path):
    result = ingest(
        "--map", "request_id=id", "--map", "timestamp=date", "--map", "text=libelle",
        "--map", "context.z=a\\", str(write(tmp_path)),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 ingested" in result.stdout
