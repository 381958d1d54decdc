"""The whole window as the frame: earlier gold labels reused, the exclusion reported.

Real traffic (generated, ingested), a real SQLite database and local storage; the export of
the earlier campaign is written as the export step writes it, without Label Studio.
"""

from __future__ import annotations

import math
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session

from campaigns.config import get_settings
from campaigns.gold.store import EXPORTS_DIR, export_dir, latest_gold
from campaigns.lifecycle.metrics import campaign_metrics
from campaigns.sampling.designs import Design
from campaigns.sampling.registry import draw_sample, load_frame, load_sample_table
from campaigns.sampling.reuse import units_to_annotate
from campaigns.state import crud
from campaigns.state.db import get_engine
from campaigns.state.models import CampaignCreate
from campaigns.storage import Storage
from campaigns.traffic.window import Window

WINDOW = Window.last_days(30, date(2026, 9, 30))


def _write_export(storage: Storage, session: Session, campaign, units: pa.Table) -> None:
    """Every unit coded with its predicted code (the model right), as an export would."""
    n = units.num_rows
    gold = units.append_column("n_annotations", pa.array([1] * n, pa.int64()))
    gold = gold.append_column("status", pa.array(["coded"] * n))
    gold = gold.append_column("gold_code", units.column("predicted_code"))
    gold = gold.append_column("campaign_id", pa.array([campaign.id] * n, pa.int64()))
    annotations = pa.table(
        {
            "request_id": units.column("request_id"),
            "task_id": pa.array(range(n), pa.int64()),
            "annotator": ["x"] * n,
            "status": ["coded"] * n,
            "code": units.column("predicted_code"),
            "lead_time": [10.0] * n,
            "created_at": ["2026-10-01T10:00:00Z"] * n,
            "updated_at": ["2026-10-01T10:00:00Z"] * n,
        }
    )
    version = "20261001T100000000000Z"
    storage.write_table(gold, f"{export_dir(campaign.id, version)}/gold.parquet")
    storage.write_table(annotations, f"{export_dir(campaign.id, version)}/annotations.parquet")
    storage.write_bytes(version.encode(), f"{EXPORTS_DIR}/campaign={campaign.id}/LATEST")
    campaign.last_export_version = version
    crud.save(session, campaign)


def test_a_new_sample_reuses_earlier_gold_and_keeps_the_whole_window(local_env, cli, tmp_path):
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "3000", "--end", "2026-09-30")
    cli("traffic", "ingest", str(logs))
    settings = get_settings()
    storage = Storage.from_settings(settings)
    with Session(get_engine(settings)) as session:
        first = draw_sample(session, storage, WINDOW, size=300, seed=1)
        earlier = crud.add_campaign(session, CampaignCreate(name="first", sample_id=first.id))
        _write_export(storage, session, earlier, load_sample_table(storage, first))
        first_units = load_sample_table(storage, first).to_pylist()
        codes: dict[tuple[str, str | None], set[str]] = {}
        for unit in first_units:
            codes.setdefault((unit["text_norm"], unit["context"]), set()).add(
                unit["predicted_code"]
            )

        design = Design(confidence_edges=(0.5, 0.8))
        second = draw_sample(session, storage, WINDOW, size=400, seed=2, design=design)
        table = load_sample_table(storage, second)
        keys = list(zip(table["text_norm"].to_pylist(), table["context"].to_pylist(), strict=True))
        # A text reuses its gold only in the context the experts saw, when that gold is one.
        expected = [len(codes.get(key, ())) == 1 for key in keys]
        conflicting = [len(codes.get(key, ())) > 1 for key in keys]
        provenance = table.column("gold_provenance").to_pylist()
        assert [p in ("reused", "check") for p in provenance] == expected
        assert table.column("earlier_gold_conflict").to_pylist() == conflicting
        checks = provenance.count("check")
        assert checks == math.ceil(0.1 * sum(expected))
        assert 0 < sum(expected) < table.num_rows
        n = provenance.count("reused")
        # Only new texts and the check units go to experts.
        assert units_to_annotate(table).num_rows == table.num_rows - n
        frame = load_frame(storage, second)
        assert frame["excluded_requests"] == 0 and frame["frame_requests"] == second.population_size
        assert frame["reused_units"] == n

        # The old behaviour, explicit: the frame shrinks, and by how much is kept.
        excluding = Design(confidence_edges=(0.5, 0.8), exclude_previous=True)
        third = draw_sample(session, storage, WINDOW, size=200, seed=3, design=excluding)
        frame = load_frame(storage, third)
        assert frame["excluded_requests"] > 0
        assert frame["excluded_share"] == frame["excluded_requests"] / frame["window_requests"]
        assert "gold_provenance" not in load_sample_table(storage, third).column_names

        # The second campaign: its experts coded the new units; the reused ones count too.
        campaign = crud.add_campaign(session, CampaignCreate(name="second", sample_id=second.id))
        _write_export(storage, session, campaign, units_to_annotate(table))
        # Every reader of the campaign's gold (metrics, trend, compare) sees the reused units.
        gold = latest_gold(storage, campaign, session)
        assert gold.num_rows == table.num_rows
        assert pc.sum(pc.equal(gold["gold_provenance"], "reused")).as_py() == n
        result = campaign_metrics(session, storage, settings, campaign, replicates=20, write=False)
        summary = result.metrics.summary
        assert summary["units_annotated"] == table.num_rows
        assert summary["reuse"]["units"] == n
        assert summary["reuse"]["conflicts"] == sum(conflicting)
        # The check units were coded with the model's code, as the reused gold says: agreement.
        check = summary["reuse"]["check"]
        assert check["checked"] == checks and check["agreeing"] == checks
        assert summary["calibration"]["applied"] is True
        figures = summary["figures"]
        rate = figures["auto_coding_rate"]
        assert rate["method"] == "census" and rate["ci_low"] == rate["ci_high"]
        assert figures["accuracy"]["method"] == "wilson-calibrated"
        assert figures["accuracy"]["stratified_method"] == "wilson-design"

    # What the CLI says of it, after the figures.
    out = cli("metrics", "second", "--no-write").output
    assert f"{n} unit(s) reuse an earlier campaign's gold label for the same text" in out
    assert (
        f"Reuse checked on {checks} unit(s) coded by experts: the reused label agrees on "
        f"{checks} (100.0%" in out
    )
    assert "conflicting earlier gold" not in out
    assert "less often than experts agree" not in out
    assert "Intervals calibrated to the window's traffic totals" in out
    assert "left out" not in out
