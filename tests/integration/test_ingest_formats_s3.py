"""The office's own logs into the traffic table on the real S3 server: the production API's
Python-logging lines (--format insee-api) and a foreign JSON-lines schema (--map), then a
sample drawn from them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pytest

from campaigns.config import get_settings
from campaigns.storage import Storage
from campaigns.traffic.ingest import QUARANTINE_DIR
from campaigns.traffic.window import traffic_dataset

pytestmark = pytest.mark.integration

CODES = ["4764Z", "4771Z", "5610A", "6201Z", "0111Z"]


def _api_line(i: int) -> str:
    query = {
        "description_activity": f"Vente d'articles n°{i}" if i % 2 else f'Atelier "{i}"',
        "other_nature_activity": None,
        "precision_act_sec_agricole": None,
        "type_form": "X",
        "nature": "10",
        "surface": None,
        "cj": "5499",
        "activity_permanence_status": "P",
    }
    top, second = CODES[i % 5], CODES[(i + 1) % 5]
    response = {
        "1": {"code": top, "probabilite": 0.9, "libelle": "l'un"},
        "2": {"code": second, "probabilite": 0.05, "libelle": "l'autre"},
        "IC": round(0.5 + (i % 50) / 100, 2),
        "MLversion": "run-7",
    }
    second_of_day = f"{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
    stamp = f"2026-09-{1 + i % 28:02d} {second_of_day},{i % 1000:03d}"
    return f"{stamp} - INFO - { ({'Query': query, 'Response': response})!r}"


def test_api_logs_and_a_mapped_schema_land_on_s3_and_can_be_sampled(s3_env, tmp_path: Path, cli):
    api = tmp_path / "api.log"
    lines = [_api_line(i) for i in range(600)]
    lines[10:10] = ["2026-09-01 00:00:00,000 - INFO - Application startup complete."]
    lines.append("2026-09-02 00:00:00,000 - INFO - {'Query': {'description_activity': 'x'")
    api.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = cli("traffic", "ingest", "--format", "insee-api", str(api)).output
    assert "1 not predictions (skipped)" in out
    again = cli("traffic", "ingest", "--format", "insee-api", str(api)).output
    assert "already ingested" in again

    foreign = tmp_path / "other.jsonl"
    with foreign.open("w") as out_file:
        for i in range(200):
            record = {
                "id": f"other-{i}",
                "ts": f"2026-09-{1 + i % 28:02d}T10:00:00Z",
                "libelle": f"Culture de blé {i}",
                "codes": ["0111Z", "0112Z"],
                "probas": [0.7, 0.2],
            }
            out_file.write(json.dumps(record) + "\n")
    cli("traffic", "ingest", str(foreign),
        "--map", "request_id=id", "--map", "timestamp=ts", "--map", "text=libelle",
        "--map", "predictions.code=codes", "--map", "predictions.score=probas")  # fmt: skip

    storage = Storage.from_settings(get_settings())
    assert storage.uri("").startswith("s3://")
    table = traffic_dataset(storage).to_table()
    assert table.num_rows == 800
    api_rows = table.filter(pc.starts_with(table.column("request_id"), "api-"))
    assert api_rows.num_rows == 600
    expected_ic = sorted(round(0.5 + (i % 50) / 100, 2) for i in range(600))
    assert sorted(api_rows.column("confidence").to_pylist()) == pytest.approx(expected_ic)
    assert set(api_rows.column("model_version").to_pylist()) == {"run-7"}
    mapped = table.filter(pc.starts_with(table.column("request_id"), "other-"))
    assert mapped.num_rows == 200
    assert mapped.column("confidence").to_pylist() == pytest.approx([0.5] * 200)
    quarantined = storage.list_files(QUARANTINE_DIR, suffix=".parquet")
    assert len(quarantined) == 1  # the truncated prediction line, kept with its reason

    out = cli("sample", "--days", "30", "--end", "2026-09-30", "--size", "50", "--seed", "1")
    assert out.exit_code == 0 and "50" in out.output
