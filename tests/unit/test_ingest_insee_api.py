"""``--format insee-api``: the production API's Python-logging lines, read exactly or refused.

The message is a Python dict literal, turned into JSON in SQL; a seeded property test checks
that conversion against ``ast.literal_eval`` on hostile strings: the same value, or a refusal,
never another reading."""

from __future__ import annotations

import ast
import json
import random
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaigns.duck import connect
from campaigns.storage import Storage
from campaigns.traffic.formats import parser_for
from campaigns.traffic.formats.insee_api import insee_api_parser
from campaigns.traffic.formats.python_literal import (
    literal_is_plain,
    literal_reason,
    literal_to_json,
)
from campaigns.traffic.ingest import ingest_file
from campaigns.traffic.window import traffic_dataset
from services.cli import app

STAMP = "2025-03-14 09:12:55,123"


def query(text: str = "Vente d'articles de sport", **over: object) -> dict:
    fields: dict[str, object] = {
        "description_activity": text,
        "other_nature_activity": None,
        "precision_act_sec_agricole": None,
        "type_form": "X",
        "nature": "10",
        "surface": None,
        "cj": "5499",
        "activity_permanence_status": "P",
    }
    fields.update(over)
    return fields


def response(*preds: tuple[str, float], ic: object = 0.83, version: object = "run-4f2a") -> dict:
    found: dict[str, object] = {
        str(i): {"code": code, "probabilite": p, "libelle": "Commerce de détail d'articles"}
        for i, (code, p) in enumerate(preds or (("4764Z", 0.91), ("4771Z", 0.08)), start=1)
    }
    return found | {"IC": ic, "MLversion": version}


def api_line(q: dict | None = None, r: dict | None = None, stamp: str = STAMP) -> str:
    return f"{stamp} - INFO - { ({'Query': q or query(), 'Response': r or response()})!r}"


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    return Storage.open(str(tmp_path / "store"))


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored(store: Storage) -> list[dict]:
    return traffic_dataset(store).to_table().sort_by("line_no").to_pylist()


def test_a_prediction_line_becomes_a_traffic_row(tmp_path: Path, store):
    line = api_line(query(surface=120.5))
    assert '"Vente d\'articles de sport"' in line  # repr chose double quotes
    summary = ingest_file(write(tmp_path / "api.log", [line]), store, parser=insee_api_parser)
    assert (summary.written, summary.quarantined, summary.skipped_lines) == (1, 0, 0)
    (row,) = stored(store)
    assert row["text"] == "Vente d'articles de sport"
    assert str(row["timestamp"]) == "2025-03-14 09:12:55.123000+00:00"
    assert row["predicted_codes"] == ["47.64Z", "47.71Z"]
    assert row["scores"] == [0.91, 0.08]
    assert row["confidence"] == 0.83  # the logged IC, not 0.91 - 0.08
    assert row["model_version"] == "run-4f2a"
    assert json.loads(row["context"]) == {
        "cj": "5499",
        "activ_nat_et": "10",
        "activ_surf_et": 120.5,
        "liasse_type": "X",
        "activ_perm_et": "P",
    }
    assert row["request_id"].startswith("api-") and len(row["request_id"]) == 36


def test_other_log_lines_are_skipped_and_counted_bad_records_quarantined(tmp_path: Path, store):
    lines = [
        f"{STAMP} - INFO - Application startup complete.",
        api_line(),
        f"{STAMP} - ERROR - Exception in ASGI application",
        "Traceback (most recent call last):",
        '  File "/app/main.py", line 12, in predict',
        api_line(query("Boulangerie"), response(("1071C", 0.7), ("1071D", 0.2), ic=None)),
        f"{STAMP} - INFO - {{'Query': {{'description_activity': 'x'}}, 'Response': {{'1': }}",
        api_line(query("Taxi"), response(("4932Z", "0.9"))),  # a string score
        api_line(query("Taxi"), response(("4932Z", 0.9), ic=1.5)),
        api_line(query("Taxi"), stamp="2025-13-45 09:12:55,123"),
        api_line(query(3)),
        f"{STAMP} - INFO - {{'Query': {{'description_activity': 'x', 'nature': nan}}}}",
    ]
    log = write(tmp_path / "api.log", lines)
    summary = ingest_file(log, store, parser=insee_api_parser)
    assert summary.skipped_lines == 4
    assert summary.written == 2
    assert summary.quarantine_reasons == {
        "invalid Python literal": 1,
        "prediction score is not a number": 1,
        "confidence index outside [0, 1]": 1,
        "invalid timestamp: 2025-13-45 09:12:55,123": 1,
        "description_activity is not a string": 1,
        "not a Python literal (a name other than None, True, False)": 1,
    }
    assert summary.accounted() == summary.lines
    rows = stored(store)
    assert rows[1]["text"] == "Boulangerie"
    assert rows[1]["confidence"] == pytest.approx(0.5)  # no IC logged: the gap


def test_reingesting_is_idempotent_and_the_same_request_is_a_duplicate(tmp_path: Path, store):
    first = write(tmp_path / "a.log", [api_line(), api_line(query("Taxi"))])
    assert ingest_file(first, store, parser=insee_api_parser).written == 2
    # the same lines in another file (a rotated log): already present, never written twice
    second = write(tmp_path / "b.log", [api_line(query("Taxi")), api_line(query("Coiffure"))])
    summary = ingest_file(second, store, parser=insee_api_parser)
    assert (summary.written, summary.already_present) == (1, 1)
    assert len(stored(store)) == 3
    # the same request (time and query) answered differently: a conflict, first kept
    third = write(tmp_path / "c.log", [api_line(r=response(("4764Z", 0.5), ic=0.2))])
    assert ingest_file(third, store, parser=insee_api_parser).conflicts == 1


def test_the_cli_reads_api_logs_and_reports_skipped_lines(local_env, tmp_path: Path):
    log = write(tmp_path / "api.log", [f"{STAMP} - INFO - Started", api_line()])
    result = CliRunner().invoke(
        app, ["traffic", "ingest", "--format", "insee-api", str(log)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "1 file: 2 lines, 1 ingested, 0 duplicates, 0 conflicts, "
        "1 not predictions (skipped), 0 quarantined"
    )
    assert parser_for("insee-api") is insee_api_parser


# -- the Python literal -> JSON conversion, against ast.literal_eval ---------------------------

PIECES = [
    "a", "Z", " ", "'", '"', "\\", "d'activité", 'dit "le bon"', "é", "ß", "€", "😀", "{", "}",
    "[", "]", ":", ",", "None", "True", "False", "nan", "\n", "\t", "\r", "\x00", "\x07",
    "\x7f", "\xa0", "\u2028", "\\x41", "\\n", "u00e9", "\\'", "\x01",
]  # fmt: skip
INSERTS = [
    "'", '"', "\\", "\\'", '\\"', "\\n", "\\t", "\\xe9", "\\u00e9", "\\U0001f600", "\\0",
    "\\ud83d", "\\N{BULLET}", "\\a", "nan", "inf", "None", "1.", ".5", "+1", "1_0", "0x1",
    ",", "}", "{", ":", "()", " ", "\x01", "\t", "b'", "1j",
]  # fmt: skip


# What real texts hold: no backslash nor control character (the fast path)
PLAIN_PIECES = [
    "a", "Z", " ", "'", '"', "d'activité", "l'entreprise", "é", "€", "😀", "{", "}", ":",
    ",", "[", "]", "None", "True", "False", "nan", "0.5", "-", "(", ")",
]  # fmt: skip


def hostile_messages(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    pieces = PIECES

    def text() -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))

    def value(depth: int = 0) -> object:
        kind = rng.random()
        if kind < 0.45 or depth > 1:
            return text()
        if kind < 0.55:
            return rng.choice([None, True, False])
        if kind < 0.65:
            return rng.choice([rng.random(), 1e-7, -0.0, 1e22, rng.randint(-10, 10**9)])
        if kind < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {text(): value(depth + 1) for _ in range(rng.randint(0, 3))}

    messages = []
    for _ in range(n):
        pieces = PLAIN_PIECES if rng.random() < 0.5 else PIECES
        messages.append(repr({text(): value() for _ in range(rng.randint(0, 4))}))
    for message in messages[: n // 2]:  # the same, edited by hand: mostly not repr any more
        cut = rng.randrange(len(message) + 1)
        messages.append(message[:cut] + rng.choice(INSERTS) + message[cut:])
    return messages


def test_the_literal_conversion_agrees_with_ast_literal_eval_or_refuses():
    messages = hostile_messages(seed=20250314, n=4000)
    con = connect()
    con.execute(
        "CREATE TABLE m AS SELECT * FROM unnest($m) WITH ORDINALITY t(m, i)", {"m": messages}
    )
    rows = con.execute(
        f"""
        SELECT i, plain, reason, CASE WHEN reason IS NULL THEN TRY(json(js)) END
        FROM (SELECT i, plain, {literal_reason("m", "plain")} AS reason,
                     {literal_to_json("m", "plain")} AS js
              FROM (SELECT *, {literal_is_plain("m")} AS plain FROM m))
        ORDER BY i
        """
    ).fetchall()
    read = refused = 0
    paths = {True: 0, False: 0}
    for (_, plain, reason, js), message in zip(rows, messages, strict=True):
        paths[plain] += 1
        try:
            with warnings.catch_warnings():  # Python warns about escapes it keeps as typed
                warnings.simplefilter("ignore")
                expected = ast.literal_eval(message)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            expected = ast  # a sentinel: Python itself cannot read it
        if reason is not None or js is None:
            refused += 1
            continue
        assert json.loads(js) == expected, message
        read += 1
    # every untouched repr is read (none refused), the edits are often refused, and both
    # paths (plain replacements, tokens) see many messages
    assert read >= 4000 and refused >= 500, (read, refused)
    assert min(paths.values()) >= 1000, paths
