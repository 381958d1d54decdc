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
from campaigns.traffic.formats.insee_api import CONTEXT_NAMES, insee_api_parser
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


# -- what DuckDB stored, against ast.literal_eval ----------------------------------------------
# The conversion test above reads the converted text with json.loads, which keeps the last of
# two equal keys as Python does; DuckDB's JSON paths keep the first. So the lines themselves go
# through the ingest, and what it stored is compared with ast.literal_eval of the message.
DUPLICATED = "duplicated"


class Pairs(list):
    """A dict literal written pair by pair, so that a key can be written twice."""


def render(value: object) -> str:
    if isinstance(value, Pairs):
        return "{" + ", ".join(f"{render(k)}: {render(v)}" for k, v in value) + "}"
    return repr(value)


def has_duplicate_key(message: str) -> bool:
    """Whether Python's parse of ``message`` has a dict literal with a key written twice
    (False when Python cannot parse it: then it is no literal at all)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(message, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [ast.dump(k) for k in node.keys if k is not None]
            if len(keys) != len(set(keys)):
                return True
    return False


def api_lines_with_duplicates(seed: int, n: int) -> list[str]:
    """API lines with hostile texts, context and versions; a key written twice in about a
    third of them, at any level (Query, description_activity, a rank, probabilite, IC, a
    nested dict...), and hand edits in some."""
    rng = random.Random(seed)

    def text() -> str:
        return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8)))

    lines = []
    for i in range(n):
        q = Pairs([("description_activity", text())])
        for name in rng.sample(["cj", "nature", "type_form", "surface", text(), text()], 3):
            q.append((name, rng.choice([None, text(), "5499", rng.random()])))
        scores = sorted((round(rng.random(), 3) for _ in range(rng.randint(1, 3))), reverse=True)
        codes = ["4711F", "1071C", "6201Z", "4932Z"]
        ranks = [
            (str(k), Pairs([("code", rng.choice(codes)), ("probabilite", s), ("libelle", text())]))
            for k, s in enumerate(scores, start=1)
        ]
        r = Pairs([*ranks, ("IC", round(rng.random(), 3)), ("MLversion", text())])
        top = Pairs([("Query", q), ("Response", r)])
        if rng.random() < 0.35:  # write one key twice, somewhere
            where = rng.choice(["top", "query", "text", "response", "rank", "score", "nested"])
            if where == "top":
                top.append(rng.choice([("Query", Pairs([("description_activity", text())])),
                                       ("Response", r)]))  # fmt: skip
            elif where in ("query", "text"):
                key = "description_activity" if where == "text" else q[-1][0]
                q.insert(rng.randrange(len(q) + 1), (key, text()))
            elif where == "response":
                r.insert(rng.randrange(len(r) + 1), (rng.choice(["IC", "MLversion", "1"]), 0.5))
            elif where == "rank":
                ranks[0][1].append(("code", rng.choice(codes)))
            elif where == "score":
                ranks[0][1].insert(0, ("probabilite", round(rng.random(), 3)))
            else:
                q.append((text(), Pairs([("k", text()), ("k", text())])))
        message = render(top)
        if rng.random() < 0.15:  # hand-edited: often no Python literal any more
            cut = rng.randrange(len(message) + 1)
            message = message[:cut] + rng.choice(INSERTS) + message[cut:]
        stamp = f"2025-03-14 09:{i // 60000 % 60:02d}:{i // 1000 % 60:02d},{i % 1000:03d}"
        lines.append(f"{stamp} - INFO - {message}")
    return lines


def expected_row(message: str) -> dict | None:
    """What the API's reader must store for ``message``, read the Python way (None: nothing,
    the line must be quarantined)."""
    if has_duplicate_key(message):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ast.literal_eval(message)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    q, r = value.get("Query"), value.get("Response")
    if not isinstance(q, dict) or not isinstance(r, dict):
        return None
    ranks = sorted((int(k), v) for k, v in r.items() if str(k).isdigit())
    return {
        "text": q.get("description_activity"),
        "predicted_codes": [f"{v['code'][:2]}.{v['code'][2:]}" for _, v in ranks],
        "scores": [v["probabilite"] for _, v in ranks],
        "confidence": r.get("IC"),
        "model_version": r.get("MLversion"),
        "context": {
            CONTEXT_NAMES.get(k, k): v
            for k, v in q.items()
            if k != "description_activity" and v is not None
        },
    }


def no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)


def test_what_duckdb_stored_agrees_with_ast_literal_eval_or_is_quarantined(tmp_path, store):
    lines = api_lines_with_duplicates(seed=2024, n=1500)
    summary = ingest_file(write(tmp_path / "api.log", lines), store, parser=insee_api_parser)
    assert summary.accounted() == summary.lines == len(lines)
    rows = {row["line_no"]: row for row in stored(store)}
    compared = duplicated = 0
    for line_no, line in enumerate(lines, start=1):
        message = line.split(" - INFO - ", 1)[1]
        row = rows.get(line_no)
        if has_duplicate_key(message):
            duplicated += 1
            assert row is None, message  # quarantined: Python and DuckDB read it differently
            continue
        if row is None:
            continue  # quarantined for another reason (an edit, a blank text...)
        expected = expected_row(message)
        assert expected is not None, message
        context = json.loads(row.pop("context"), object_pairs_hook=no_duplicates)
        assert context == expected.pop("context"), message
        assert {k: row[k] for k in expected} == expected, message
        compared += 1
    assert summary.quarantine_reasons.get("duplicate key", 0) >= 0.8 * duplicated
    assert duplicated >= 400 and compared >= 500, (duplicated, compared)


def test_a_key_written_twice_is_quarantined_whatever_its_level(tmp_path: Path, store):
    r = render(Pairs(response().items()))
    q = render(Pairs(query().items()))
    twice = [
        "{'Query': {'description_activity': 'FIRST', 'description_activity': 'SECOND'}, "
        f"'Response': {r}}}",
        f"{{'Query': {q}, 'Query': {q}, 'Response': {r}}}",
        f"{{'Query': {q}, 'Response': {r}, 'Response': {r}}}",
        f"{{'Query': {q}, 'Response': {r[:-1]}, 'IC': 0.1}}}}",
        f"{{'Query': {q}, 'Response': {{'1': {{'code': '4764Z', 'probabilite': 0.9}}, "
        "'1': {'code': '4771Z', 'probabilite': 0.9}, 'IC': 0.8}}",
        f"{{'Query': {q}, 'Response': {{'1': {{'code': '4764Z', 'probabilite': 0.1, "
        "'probabilite': 0.9}, 'IC': 0.8}}",
        f"{{'Query': {q[:-1]}, 'x': {{'k': 1, 'k': 2}}}}, 'Response': {r}}}",
        f"{{'Query': {q[:-1]}, 'x': [{{'k': 1}}, {{'k': [{{'z': 1, 'z': 2}}]}}]}}, "
        f"'Response': {r}}}",
    ]
    fine = [
        f"{{'Query': {q[:-1]}, 'x': [{{'k': 1}}, {{'k': 2}}], 'y': '{{{{'}}, 'Response': {r}}}",
        f"{{'Query': {q}, 'Response': {r}}}",
    ]
    for message in twice + fine:
        assert isinstance(ast.literal_eval(message), dict), message
    assert [has_duplicate_key(m) for m in twice + fine] == [True] * len(twice) + [False] * 2
    lines = [f"2025-03-14 09:12:{i:02d},123 - INFO - {m}" for i, m in enumerate(twice + fine)]
    summary = ingest_file(write(tmp_path / "api.log", lines), store, parser=insee_api_parser)
    assert summary.quarantine_reasons == {"duplicate key": len(twice)}
    assert summary.written == 2
