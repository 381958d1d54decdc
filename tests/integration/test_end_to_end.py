"""The whole path against the real servers: logs -> S3 -> sample -> Label Studio -> export."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from campaigns.config import get_settings
from campaigns.gold import store as gold_store
from campaigns.nomenclatures import old_nomenclature
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from nace_mapping import Level
from services.expert_simulator import ExpertAnswer, LabelStudioExpert

pytestmark = pytest.mark.integration
END = "2026-09-30"


@pytest.fixture
def synthetic_logs(tmp_path: Path, cli) -> tuple[Path, Path]:
    logs, truth = tmp_path / "logs.jsonl", tmp_path / "truth.parquet"
    cli(
        "traffic",
        "generate",
        str(logs),
        "--lines",
        "3000",
        "--end",
        END,
        "--seed",
        "3",
        "--truth",
        str(truth),
    )
    with logs.open("a") as out:
        out.write("garbage line\n")
        out.write(
            '{"request_id": "x", "timestamp": "2026-09-01", "text": "A", "predictions": []}\n'
        )
    return logs, truth


def test_campaign_end_to_end(
    live_env, synthetic_logs, cli, s3_client, bucket, label_studio, tmp_path
):
    logs, truth_path = synthetic_logs
    out = cli("traffic", "ingest", str(logs)).output
    assert "3002" in out and "3000" in out  # lines read, rows written
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(k.startswith("campaigns/traffic/day=2026-09-30/") for k in keys)
    assert any(k.startswith("campaigns/quarantine/ingest/") for k in keys)
    assert not any("/_tmp/" in k and k.endswith(".part") for k in keys)
    # Ingesting the same file again changes nothing.
    assert "already ingested" in cli("traffic", "ingest", str(logs)).output

    out = cli("sample", "--days", "30", "--end", END, "--size", "40", "--seed", "11").output
    settings = get_settings()
    with session_scope(settings) as session:
        sample = crud.list_samples(session)[0]
    assert sample.sample_size == 40 and "of" in out
    storage = Storage.from_settings(settings)
    table = storage.read_table(f"samples/{sample.id}.parquet")
    assert table.num_rows == 40
    assert table.column("day").to_pylist()[0] >= date(2026, 9, 1)
    assert (
        table.column("inclusion_prob").to_pylist()
        == [pytest.approx(40 / sample.population_size)] * 40
    )
    # The same draw twice is the same sample.
    cli("sample", "--days", "30", "--end", END, "--size", "40", "--seed", "11")
    with session_scope(settings) as session:
        assert len(crud.list_samples(session)) == 1

    cli("create", "gold-e2e", "--sample", sample.id, "--suggestions", "preselected")
    cli("push", "gold-e2e")
    again = cli("push", "gold-e2e").output
    assert "Pushed 0 new tasks (40 already there)" in again

    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, "gold-e2e")
    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = expert.tasks(campaign.ls_project_id)
    assert len(tasks) == 40
    assert all(t["data"]["suggestions"][0]["selected"] is True for t in tasks)  # pre-selected
    assert all(len(t["data"]["suggestions"]) == 5 for t in tasks)

    truth = dict(zip(*pq.read_table(truth_path).to_pydict().values(), strict=True))
    nom = old_nomenclature(settings)
    by_request = {t["data"]["request_id"]: t for t in tasks}
    ids = sorted(by_request)
    # Experts: 6 accept a suggestion, 2 pick in the taxonomy, 1 cannot code, 1 skips.
    expected: dict[str, tuple[str, str | None]] = {}
    for rid in ids[:6]:
        code = by_request[rid]["data"]["suggestions"][0]["value"]
        expert.annotate(by_request[rid]["id"], ExpertAnswer(code=code, difficulty=2))
        expected[rid] = ("coded", code)
    for rid in ids[6:8]:
        code = truth[rid]
        chain = nom.ancestors(code)
        expert.annotate(
            by_request[rid]["id"],
            ExpertAnswer(
                via_taxonomy_path=[chain[Level.SECTION], chain[Level.DIVISION], code],
                remark="not in the suggestions",
            ),
        )
        expected[rid] = ("coded", code)
    expert.annotate(by_request[ids[8]]["id"], ExpertAnswer(cannot_code=True))
    expected[ids[8]] = ("cannot_code", None)
    expert.annotate(by_request[ids[9]]["id"], ExpertAnswer(skip=True))
    expected[ids[9]] = ("skipped", None)

    out = cli("export", "gold-e2e").output
    assert "Exported 10 annotations" in out
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, "gold-e2e")
    gold = gold_store.latest_gold(storage, campaign)
    got = {r["request_id"]: (r["status"], r["gold_code"]) for r in gold.to_pylist()}
    assert got == expected
    # Remark, rating, "cannot be coded" and skip round-trip with their own columns.
    annotations = {
        r["request_id"]: r for r in gold_store.latest_annotations(storage, campaign).to_pylist()
    }
    assert annotations[ids[0]]["difficulty"] == 2 and annotations[ids[0]]["remark"] is None
    assert annotations[ids[6]]["remark"] == "not in the suggestions"
    assert annotations[ids[8]]["status"] == "cannot_code"
    assert annotations[ids[9]]["status"] == "skipped" and annotations[ids[9]]["code"] is None
    assert all(a["lead_time"] == pytest.approx(12.5) for a in annotations.values())
    # Gold rows carry the sample's design information.
    assert {"inclusion_prob", "weight", "stratum", "predicted_code", "confidence"} <= set(
        gold.column_names
    )

    out = cli("metrics", "gold-e2e").output
    coded = [rid for rid, (status, _) in expected.items() if status == "coded"]
    right = sum(
        by_request[rid]["data"]["suggestions"][0]["value"] == expected[rid][1] for rid in coded
    )
    assert f"{right / len(coded):.1%}" in out
    assert "cannot_code" in out and "skipped" in out
    assert "Wrote 10 tables under" in out

    # The dashboard's Parquet: partitioned by campaign and computation date, on S3.
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    figures_keys = [
        k for k in keys if k.startswith("campaigns/metrics/figures/") and k.endswith(".parquet")
    ]
    assert len(figures_keys) == 1
    assert f"/campaign={campaign.id}/computed=" in figures_keys[0]
    figures = storage.read_table(figures_keys[0].removeprefix("campaigns/"))
    accuracy = figures.filter(pc.equal(figures["figure"], "accuracy")).to_pylist()[0]
    assert accuracy["estimate"] == pytest.approx(right / len(coded))
    # Calibrated to the window's traffic totals (the frame is the whole window).
    assert accuracy["n"] == len(coded) and accuracy["method"] == "wilson-calibrated"
    assert accuracy["campaign_id"] == campaign.id

    report = tmp_path / "report.html"
    cli("report", "gold-e2e", "--out", str(report))
    # Threshold curve, levels, calibration (too few errors here for a hardest-classes plot).
    assert_renders_in_chromium(report, tmp_path, plots=3)


def assert_renders_in_chromium(page: Path, tmp_path: Path, plots: int) -> None:
    """Headless Chromium runs the page's JavaScript: every plotly figure draws its SVG."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: make install installs Debian's chromium"
    dom = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}",
            "--virtual-time-budget=10000", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert dom.count('class="plotly-graph-div') == plots
    assert dom.count('class="main-svg"') >= plots  # drawn, not just embedded
    assert "Choosing the threshold" in dom


def test_unknown_campaign_and_missing_token_give_one_line_errors(live_env, cli, monkeypatch):
    result = cli("push", "no-such-campaign", ok=False)
    assert result.exit_code == 2
    assert "No campaign 'no-such-campaign'" in result.output
    monkeypatch.delenv("CAMPAIGNS_LABEL_STUDIO_TOKEN")
    get_settings.cache_clear()
    result = cli("create", "x-campaign", "--sample", "nope", ok=False)
    assert result.exit_code == 2


def test_empty_window_says_what_to_do(live_env, synthetic_logs, cli):
    cli("traffic", "ingest", str(synthetic_logs[0]))
    result = cli("sample", "--days", "7", "--end", "2020-01-31", "--size", "10", ok=False)
    assert result.exit_code == 2
    assert "No traffic between 2020-01-25 to 2020-01-31" in result.output


def test_unreachable_label_studio(live_env, cli, monkeypatch, synthetic_logs):
    monkeypatch.setenv("CAMPAIGNS_LABEL_STUDIO_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    cli("traffic", "ingest", str(synthetic_logs[0]))
    cli("sample", "--days", "30", "--end", END, "--size", "5")
    with session_scope(get_settings()) as session:
        sample_id = crud.list_samples(session)[0].id
    result = cli("create", "unreachable", "--sample", sample_id, ok=False)
    assert result.exit_code == 2
    assert "Cannot reach Label Studio at http://127.0.0.1:9" in result.output
