"""Stratified samples of traffic stored on the real S3 server, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest

from campaigns.config import get_settings
from campaigns.sampling.registry import load_sample_table, load_strata
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.state.models import CampaignCreate
from campaigns.storage import Storage

pytestmark = pytest.mark.integration
END = "2026-09-30"
EDGES = "0.4,0.7"


@pytest.fixture
def traffic_on_s3(s3_env, tmp_path: Path, cli) -> None:
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "4000", "--end", END, "--seed", "5")
    cli("traffic", "ingest", str(logs))


def _only_sample(session):
    (sample,) = [s for s in crud.list_samples(session) if s.design == "stratified"]
    return sample


def test_stratified_sample_on_s3_has_design_columns_and_skips_earlier_campaigns(
    traffic_on_s3, cli, s3_client, bucket
):
    out = cli(
        "plan", "--margin", "0.05", "--days", "30", "--end", END,
        "--confidence-edges", EDGES, "--by-section", "--prior-accuracy", "0.6,0.8,0.95",
    ).output  # fmt: skip
    assert "units give a 95% margin" in out and "conf[0.70,1.00]" in out

    args = ["--days", "30", "--end", END, "--confidence-edges", EDGES, "--by-section"]
    out = cli("sample", "--size", "300", "--seed", "3", *args, "--minimum", "3").output
    assert "stratified" in out and "inclusion prob." in out
    settings = get_settings()
    storage = Storage.from_settings(settings)
    with session_scope(settings) as session:
        sample = _only_sample(session)
        table = load_sample_table(storage, sample)
        strata = load_strata(storage, sample)
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert f"campaigns/samples/{sample.id}.parquet" in keys
    assert f"campaigns/samples/{sample.id}.strata.parquet" in keys

    assert table.num_rows == 300 == sample.sample_size
    assert sample.population_size == pc.sum(strata["population"]).as_py()
    assert min(strata["sample_size"].to_pylist()) >= min(3, min(strata["population"].to_pylist()))
    # Weights add up to each stratum's population, so to the window's traffic.
    by_stratum: dict[str, float] = {}
    for row in table.select(["stratum", "weight"]).to_pylist():
        by_stratum[row["stratum"]] = by_stratum.get(row["stratum"], 0.0) + row["weight"]
    for row in strata.to_pylist():
        if row["sample_size"]:
            assert by_stratum[row["stratum"]] == pytest.approx(row["population"])
    assert all(" x conf[" in s for s in table["stratum"].to_pylist())

    # Same command again: the same sample (no new draw).
    cli("sample", "--size", "300", "--seed", "3", *args, "--minimum", "3")
    with session_scope(settings) as session:
        assert _only_sample(session).id == sample.id
        crud.add_campaign(session, CampaignCreate(name="first", sample_id=sample.id))

    # Once a campaign holds it, a new sample with --exclude-previous leaves its units out.
    cli(
        "sample", "--size", "300", "--seed", "4", "--days", "30", "--end", END, "--exclude-previous"
    )
    with session_scope(settings) as session:
        (second,) = [s for s in crud.list_samples(session) if s.design == "srs"]
        again = load_sample_table(storage, second)
    assert not set(again["request_id"].to_pylist()) & set(table["request_id"].to_pylist())
    assert not set(again["text_norm"].to_pylist()) & set(table["text_norm"].to_pylist())


def test_impossible_designs_fail_with_a_hint(traffic_on_s3, cli):
    result = cli(
        "sample", "--size", "5", "--days", "30", "--end", END,
        "--confidence-edges", EDGES, "--by-section", ok=False,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "cannot give 2 units to each" in result.output and "Ask for at least" in result.output
    result = cli(
        "plan", "--auto-coded", "--threshold", "0.5", "--confidence-edges", EDGES, ok=False
    )
    assert result.exit_code == 2 and "not an edge" in result.output
