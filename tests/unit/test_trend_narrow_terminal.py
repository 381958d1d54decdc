"""``campaigns trend`` in a narrow terminal (80 columns, as in cron mail) never cuts a figure,
and ``campaigns metrics`` on a validation campaign points at the validation metrics."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from campaigns.config import get_settings
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.state.models import CampaignCreate, CampaignKind, Sample
from campaigns.storage import Storage
from services.cli import app

LONG_VERSION = "camembert-v2.3.1-finetuned-2026-03-15-nace-rev2-batch-api"


def add_campaign(session, storage: Storage, n: int = 600, seed: int = 4) -> None:
    """A gold campaign over March and April 2026, its model with a long version name."""
    rng = np.random.default_rng(seed)
    start, days = date(2026, 3, 1), 61
    session.add(
        Sample(id="s-long", window_start=start, window_end=start + timedelta(days=days),
               population_size=1000 * days, sample_size=n, uri="x")
    )  # fmt: skip
    session.commit()
    campaign = crud.add_campaign(session, CampaignCreate(name="long", sample_id="s-long"))
    campaign.last_export_version = "v1"
    crud.save(session, campaign)
    stamps = [
        datetime.combine(start, datetime.min.time(), UTC) + timedelta(seconds=int(s))
        for s in rng.integers(0, days * 86400, n)
    ]
    right = rng.random(n) < 0.79
    gold = pa.table(
        {
            "request_id": [f"l-{i}" for i in range(n)],
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "text": ["X"] * n,
            "context": ["{}"] * n,
            "model_version": [LONG_VERSION] * n,
            "status": ["coded"] * n,
            "predicted_code": ["10.71C"] * n,
            "gold_code": np.where(right, "10.71C", "47.24Z"),
            "confidence": rng.random(n),
            "stratum": ["all"] * n,
            "weight": np.full(n, 1000 * days / n),
            "stratum_population": np.full(n, 1000 * days),
            "stratum_sample_size": np.full(n, n),
        }
    )
    storage.write_table(gold, f"exports/campaign={campaign.id}/version=v1/gold.parquet")
    storage.write_bytes(b"v1", f"exports/campaign={campaign.id}/LATEST")


@pytest.mark.parametrize("columns", ["80", "60", "40"])
def test_no_figure_is_ever_cut(local_env, columns):
    settings = get_settings()
    with session_scope(settings) as session:
        add_campaign(session, Storage.from_settings(settings))
    runner = CliRunner()
    args = ["trend", "--replicates", "50", "--no-write"]
    as_json = runner.invoke(app, [*args, "--json"], catch_exceptions=False)
    rows = [r for r in json.loads(as_json.stdout)["rows"] if r["figure"] == "accuracy"]
    assert len(rows) == 4  # two months, overall and for the version
    result = runner.invoke(app, args, env={"COLUMNS": columns}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "…" not in text and "..." not in text
    assert all(len(line) <= int(columns) for line in text.splitlines() if "│" in line)
    for row in rows:
        assert f"{row['estimate']:.1%}" in text
        assert f"[{row['ci_low']:.1%}, {row['ci_high']:.1%}]" in text
        assert str(row["n"]) in text
    # The long version is all there, folded onto as many lines as it needs.
    folded = "".join(
        cell.strip() for line in text.splitlines() if "│" in line for cell in line.split("│")[2:3]
    )
    assert LONG_VERSION in folded or LONG_VERSION in text


def test_metrics_of_a_validation_campaign_point_at_validation_metrics(local_env):
    settings = get_settings()
    with session_scope(settings) as session:
        session.add(
            Sample(id="s-v", window_start=date(2026, 1, 1), window_end=date(2026, 2, 1),
                   population_size=10, sample_size=2, uri="x")
        )  # fmt: skip
        session.commit()
        crud.add_campaign(
            session,
            CampaignCreate(name="sept-check", sample_id="s-v", kind=CampaignKind.VALIDATION),
        )
    result = CliRunner().invoke(app, ["metrics", "sept-check"], catch_exceptions=False)
    assert result.exit_code == 2
    assert "campaigns validation metrics sept-check" in result.output
    assert "transition" not in result.output
