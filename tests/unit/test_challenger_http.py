"""``campaigns compare --challenger-api`` against a real misbehaving HTTP server.

A threaded ``http.server`` on 127.0.0.1, started by the test, answers ``POST
/<case>/batch/predict`` the way a broken or hostile classifier would: hostile codes, NaN
scores, an IC of 7.5, a score "high", ranks that are strings, a body past the cap (declared
or not), one byte every second (in the body, or in the headers), absurdly nested JSON. Each
ends in one line and exit code 2 (or, for codes outside the nomenclature, wrong answers
listed with their count), never a traceback or a hang; the deadlines are small so it runs in
seconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa
import pytest

from campaigns.config import get_settings
from campaigns.errors import InputFormatError, ServiceUnavailableError
from campaigns.lifecycle.challenger import predictions_from_classifier
from campaigns.state import crud
from campaigns.state.models import CampaignCreate
from campaigns.storage import Storage
from services.cli.model_quality import HttpClassifier

TRUTH = ["47.11F", "47.19B", "10.71C", "62.01Z"]
HOSTILE = "../../ZZZ<script>"


def ranks(code: str, score: Any = 0.9) -> dict[str, Any]:
    return {"1": {"code": code, "probabilite": score, "libelle": "x"}, "IC": 0.5, "MLversion": "c1"}


def answers(case: str, forms: list[dict[str, Any]]) -> Any:
    """What the server answers for ``forms`` in each well-formed-HTTP ``case``."""
    n = len(forms)
    if case == "hostile-code":  # the text's index picks the truth; every other one hostile
        return [
            ranks(TRUTH[int(f["description_activity"][-1])] if i % 2 else HOSTILE)
            for i, f in enumerate(forms)
        ]
    if case == "nan":
        return [ranks("4711F", float("nan"))] * n
    if case == "ic":
        return [ranks("4711F") | {"IC": 7.5}] * n
    if case == "high":
        return [ranks("4711F", "high")] * n
    if case == "flat":
        return [{"1": "4764Z"}] * n
    raise AssertionError(case)


class Misbehaving(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        forms = json.loads(self.rfile.read(length))["forms"]
        case = self.path.split("/")[1]
        try:
            if case == "slow-body":  # headers at once, then a byte a second, forever
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"[")
                while not self.server.stopping.is_set():  # type: ignore[attr-defined]
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
                return
            if case == "slow-headers":
                for byte in b"HTTP/1.0 200 OK\r\nX-Slow: " + b"a" * 1000:
                    if self.server.stopping.is_set():  # type: ignore[attr-defined]
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)
                return
            if case == "huge-declared":
                self.send_response(200)
                self.send_header("Content-Length", str(10**12))
                self.end_headers()
                self.wfile.write(b"[" * 1000)
                return
            if case == "huge":  # no length: read until the connection closes
                self.send_response(200)
                self.end_headers()
                chunk = b"[" + b" " * 65_535
                for _ in range(100):  # 6.5 MB, far past the test's cap
                    self.wfile.write(chunk)
                return
            if case == "deep":
                body = b"[" * 20_000 + b"]" * 20_000
            elif case == "html":
                body = b"<html>\x1b[31m\nerror</html>"
            else:
                body = json.dumps(answers(case, forms)).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: as it should
            pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    httpd.daemon_threads = True
    httpd.stopping = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.stopping.set()  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()


GOLD = pa.table({"request_id": [f"r{i}" for i in range(4)], "text": [f"T{i}" for i in range(4)]})


def client(url: str, **limits: Any) -> HttpClassifier:
    defaults = {"max_body_bytes": 100_000, "batch_deadline": 1.0, "deadline": 3.0}
    return HttpClassifier(url, **(defaults | limits))


def predict(url: str, **limits: Any) -> pa.Table:
    post = client(url, **limits)
    try:
        return predictions_from_classifier(GOLD, post, batch_size=2, attempts=3, wait_max=0.2)[0]
    finally:
        post.close()


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("nan", "score nan, not between 0 and 1"),
        ("ic", "IC 7.5, not between 0 and 1"),
        ("high", "score high, not a number"),
        ("flat", "rank 1 = 4764Z, not an object"),
        ("huge-declared", "answered more than 100000 bytes"),
        ("huge", "answered more than 100000 bytes"),
        ("deep", "answered no JSON"),
        ("html", "answered no JSON"),
    ],
)
def test_malformed_answers_stop_with_one_line(server, case, said):
    with pytest.raises(InputFormatError) as caught:
        predict(f"{server}/{case}")
    line = caught.value.one_line()
    assert said in line and "\n" not in line and "\x1b" not in line


@pytest.mark.parametrize("case", ["slow-body", "slow-headers"])
def test_a_server_sending_a_byte_at_a_time_meets_the_deadlines(server, case):
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as caught:
        predict(f"{server}/{case}", batch_deadline=0.8, deadline=2.0)
    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 3.5  # retried within the batch deadline, stopped at the overall one
    assert "deadline (2 s)" in caught.value.one_line()
    # A batch deadline alone (a generous overall one): each attempt is cut, then it fails.
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match=r"failed 3 times.*batch deadline"):
        predict(f"{server}/{case}", batch_deadline=0.5, deadline=60.0)
    assert time.monotonic() - started < 3.0


def test_hostile_codes_are_wrong_answers(server):
    table = predict(f"{server}/hostile-code")
    firsts = [codes[0] for codes in table.column("predicted_codes").to_pylist()]
    assert firsts == [HOSTILE, "47.19B", HOSTILE, "62.01Z"]


# -- through the command: exit code 2 and one line, or the unknown codes listed ----------------
@pytest.fixture
def gold_campaign(state_session, state_settings, monkeypatch) -> Iterator[str]:
    """A gold campaign with an export of 4 units whose truth is TRUTH, the champion right."""
    monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", state_settings.database_url)
    monkeypatch.setenv("CAMPAIGNS_STORAGE_ROOT", state_settings.storage_root)
    get_settings.cache_clear()
    campaign = crud.add_campaign(state_session, CampaignCreate(name="cmp", sample_id="s1"))
    campaign.last_export_version = "v1"
    crud.save(state_session, campaign)
    storage = Storage.from_settings(state_settings)
    gold = pa.table(
        {
            "request_id": GOLD.column("request_id"),
            "text": GOLD.column("text"),
            "status": ["coded"] * 4,
            "gold_code": TRUTH,
            "predicted_code": TRUTH,
            "predicted_codes": [[c] for c in TRUTH],
            "confidence": [0.9] * 4,
            "model_version": ["champ"] * 4,
            "weight": [1.0] * 4,
            "n_annotations": [1] * 4,
        }
    )
    storage.write_table(gold, f"exports/campaign={campaign.id}/version=v1/gold.parquet")
    storage.write_bytes(b"v1", f"exports/campaign={campaign.id}/LATEST")
    yield "cmp"
    get_settings.cache_clear()


def compare(cli, url: str, *more: str, ok: bool = False):
    return cli(
        "compare", "cmp", "--challenger-api", url, "--batch-size", "2", "--replicates", "20",
        "--no-write", "--max-body-bytes", "100000", *more, ok=ok,
    )  # fmt: skip


def test_the_command_lists_codes_outside_the_nomenclature(cli, gold_campaign, server):
    out = compare(cli, f"{server}/hostile-code", "--json", ok=True).stdout
    result = json.loads(out)
    assert result["codes_not_in_nomenclature"] == {
        "predictions": 2,
        "units": 2,
        "codes": {HOSTILE: 2},
    }
    accuracy = result["summary"]["figures"]["challenger"]["accuracy_subclass"]["estimate"]
    assert accuracy == pytest.approx(0.5)  # the two hostile answers are wrong answers
    text = compare(cli, f"{server}/hostile-code", ok=True).stdout
    assert "2 challenger codes on 2 units are not in the nomenclature" in text
    assert f"{HOSTILE} (2)" in text


@pytest.mark.parametrize(
    ("case", "more", "said"),
    [
        ("high", (), "score high, not a number"),
        ("flat", (), "not an object"),
        ("nan", (), "not between 0 and 1"),
        ("huge", (), "more than 100000 bytes"),
        ("slow-body", ("--batch-deadline", "0.5", "--deadline", "1.5"), "deadline (1.5 s)"),
    ],
)
def test_every_failure_is_one_line_and_exit_code_2(cli, gold_campaign, server, case, more, said):
    result = compare(cli, f"{server}/{case}", *more)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and said in lines[0]
