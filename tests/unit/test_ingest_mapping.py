"""``--map`` / ``--map-file``: JSON lines or Parquet of another shape, read without code, with
the same rules (quarantine, conflicts, idempotence) as our own format."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from campaigns.errors import InputFormatError
from campaigns.storage import Storage
from campaigns.traffic.formats.mapping import FieldMapping
from campaigns.traffic.ingest import ingest_file
from campaigns.traffic.window import traffic_dataset
from services.cli import app

PARALLEL = [
    "request_id=id",
    "timestamp=date",
    "text=libelle",
    "predictions.code=codes",
    "predictions.score=probas",
    "context.cj=forme.juridique",
    "model_version=version",
]


def record(rid: str, **over: object) -> dict:
    found: dict[str, object] = {
        "id": rid,
        "date": "2026-09-01T10:00:00Z",
        "libelle": "Boulangerie pâtisserie",
        "codes": ["1071C", "4724Z"],
        "probas": [0.9, 0.05],
        "forme": {"juridique": "5499"},
        "version": "2.1",
        "autre": "not kept",
    }
    found.update(over)
    return found


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    return Storage.open(str(tmp_path / "store"))


def write_jsonl(path: Path, records: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def stored(store: Storage) -> dict[str, dict]:
    return {r["request_id"]: r for r in traffic_dataset(store).to_table().to_pylist()}


def test_parallel_lists_and_nested_fields_are_mapped(tmp_path: Path, store):
    log = write_jsonl(
        tmp_path / "other.jsonl",
        [
            record("a1"),
            record("a2", probas=[0.9]),  # one score for two codes
            record("a3", probas=["0.9", 0.05]),
            record("a4", libelle=""),
            "not json",
            record("a1"),  # a duplicate
            record("a1", libelle="Autre"),  # a conflict
        ],
    )
    summary = ingest_file(log, store, mapping=FieldMapping.parse(PARALLEL))
    assert (summary.written, summary.duplicates_in_file, summary.conflicts) == (1, 1, 1)
    assert summary.quarantine_reasons == {
        "the code and score lists differ in length": 1,
        "prediction score is not a JSON number": 1,
        "missing text": 1,
        "invalid JSON": 1,
    }
    row = stored(store)["a1"]
    assert row["text"] == "Boulangerie pâtisserie"
    assert row["predicted_codes"] == ["10.71C", "47.24Z"]
    assert row["confidence"] == pytest.approx(0.85)
    assert json.loads(row["context"]) == {"cj": "5499"}
    assert row["model_version"] == "2.1"
    assert row["extra"] is None  # fields not mapped are not kept
    bad = store.read_table(summary.quarantine_uri.removeprefix(store.root_uri + "/"))
    assert bad.column("line").to_pylist()[0] == json.dumps(record("a2", probas=[0.9]))
    assert ingest_file(log, store, mapping=FieldMapping.parse(PARALLEL)).skipped_as_already_ingested


def test_a_parquet_file_with_a_list_of_structs(tmp_path: Path, store):
    table = pa.table(
        {
            "id": ["p1", "p2", "p3"],
            "ts": pa.array([1_788_000_000_000_000] * 3, pa.timestamp("us", tz="UTC")),
            "libelle": ["Garage automobile", "Coiffure", "Taxi"],
            "preds": [
                [{"c": "4520A", "s": 0.8}],
                [{"c": "9602A", "s": 0.7}, {"c": "9602B", "s": 0.2}],
                [{"c": "ABC", "s": 0.7}],
            ],
            "ic": [0.8, 0.45, 0.1],
            "ctx": [{"cj": "5710", "activ_nat_et": "10"}, None, None],
        }
    )
    path = tmp_path / "export.parquet"
    pq.write_table(table, path)
    mapping = FieldMapping.parse(
        [
            "request_id=id",
            "timestamp=ts",
            "text=libelle",
            "predictions=preds",
            "predictions.code=c",
            "predictions.score=s",
            "confidence=ic",
            "context=ctx",
        ]
    )
    summary = ingest_file(path, store, mapping=mapping)
    assert (summary.lines, summary.written) == (3, 2)
    assert summary.quarantine_reasons == {"invalid prediction code": 1}
    rows = stored(store)
    assert rows["p2"]["predicted_codes"] == ["96.02A", "96.02B"]
    assert rows["p2"]["confidence"] == pytest.approx(0.45)  # the logged index
    assert str(rows["p1"]["timestamp"]) == "2026-08-29 10:40:00+00:00"
    assert json.loads(rows["p1"]["context"]) == {"cj": "5710", "activ_nat_et": "10"}
    assert rows["p1"]["line_no"] == 1 and rows["p1"]["source_file"] == "export.parquet"


def test_a_toml_mapping_file(tmp_path: Path, store):
    toml = tmp_path / "mapping.toml"
    toml.write_text(
        '[map]\nrequest_id = "id"\ntimestamp = "date"\ntext = "libelle"\n'
        'model_version = "version"\n'
        '[map.predictions]\ncode = "codes"\nscore = "probas"\n'
        '[map.context]\ncj = "forme.juridique"\n'
    )
    mapping = FieldMapping.parse([], toml)
    assert mapping == FieldMapping.parse(PARALLEL)
    log = write_jsonl(tmp_path / "t.jsonl", [record("t1")])
    assert ingest_file(log, store, mapping=mapping).written == 1


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["txt=libelle"], "Unknown target field 'txt'"),
        (["text"], "Malformed mapping 'text'"),
        (["predictions.code=codes"], "predictions.code but not its parallel list"),
        (["context.=x"], "Unknown target field 'context.'"),
    ],
)
def test_a_wrong_mapping_is_refused_with_what_to_do(pairs: list[str], message: str):
    with pytest.raises(InputFormatError, match=message) as err:
        FieldMapping.parse(pairs)
    assert err.value.hint


def test_a_source_field_the_file_does_not_have_is_a_clear_error(tmp_path: Path, store):
    log = write_jsonl(tmp_path / "x.jsonl", [record("x1")])
    mapping = FieldMapping.parse([*PARALLEL[:2], "text=label", *PARALLEL[3:]])
    with pytest.raises(InputFormatError, match=r"text from 'label'.*fields seen: .*libelle"):
        ingest_file(log, store, mapping=mapping)
    assert not store.list_files("")


def test_the_cli_maps_and_exits_2_on_a_bad_mapping(local_env, tmp_path: Path):
    log = write_jsonl(tmp_path / "c.jsonl", [record("c1"), record("c2")])
    args = [f"--map={pair}" for pair in PARALLEL]
    ok = CliRunner().invoke(app, ["traffic", "ingest", *args, str(log)])
    assert ok.exit_code == 0, ok.output
    assert "2 lines, 2 ingested" in ok.stdout
    bad = CliRunner().invoke(app, ["traffic", "ingest", "--map", "txt=libelle", str(log)])
    assert bad.exit_code == 2
    assert "Unknown target field 'txt'" in bad.output
    missing = CliRunner().invoke(app, ["traffic", "ingest", "--map", "text=label", str(log)])
    assert missing.exit_code == 2
    assert "no source field for" in missing.output and "--map" in missing.output


def test_hostile_field_names_are_read_as_names_never_as_sql(tmp_path: Path, store):
    odd = "li'bel\"le); DROP TABLE x; --"
    rows = [record("h1") | {odd: "Texte au nom d'étrange champ", "ctx k'": "9"}]
    log = write_jsonl(tmp_path / "odd.jsonl", rows)
    mapping = FieldMapping.parse(
        [p for p in PARALLEL if not p.startswith(("text=", "context."))]
        + [f"text={odd}", "context.kv=ctx k'"]
    )
    summary = ingest_file(log, store, mapping=mapping)
    assert (summary.written, summary.quarantined) == (1, 0)
    row = stored(store)["h1"]
    assert row["text"] == "Texte au nom d'étrange champ"
    assert json.loads(row["context"]) == {"kv": "9"}
    # A target is one of ours, never free text.
    with pytest.raises(InputFormatError, match="Unknown target field"):
        FieldMapping.parse([*PARALLEL, "context.k'v=ctx k'"])
