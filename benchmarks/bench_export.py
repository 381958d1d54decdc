"""Export: the incremental export of a ``--tasks`` project after ``--new`` new annotations.

Ours: what ``campaigns export NAME`` does after a first export, timed end to end through
``export_campaign``: the tasks Label Studio changed since the cursor are read with their
annotations, parsed, merged into the previous snapshot, joined with the sample's design
columns and written as a new Parquet version (``LATEST`` moved last). Before each run the
campaign is put back to the first export's cursor and version, so every run does the same
work (best of ``--runs``). Also shown: the part of it spent reading from Label Studio.

Reference (same run, same server, same project): Label Studio's full JSON export
(``projects.exports.as_json``), which is what a naive export does; it is given
``--reference-timeout`` seconds (600 by default) and is reported as not finished beyond.
The reference and ours alternate (best of each). The last line is ``ratio: X``, ours /
reference in time (lower is better).

Starts its own Label Studio (a copy of the migrated template) unless
CAMPAIGNS_LABEL_STUDIO_URL and CAMPAIGNS_LABEL_STUDIO_TOKEN point at one.

    python -m benchmarks.bench_export --tasks 10000 --new 300
    python -m benchmarks.bench_export --tasks 100000
"""

from __future__ import annotations

import argparse
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pyarrow as pa
from sqlmodel import Session

from benchmarks._common import best_of, timed
from campaigns.config import Settings
from campaigns.gold.store import EXPORTS_DIR
from campaigns.labelstudio.gateway import KEY_FIELD, LabelStudioGateway
from campaigns.labelstudio.gold.config import SUGGESTED, TEXT
from campaigns.labelstudio.kinds import kit_for
from campaigns.lifecycle.export import export_campaign
from campaigns.state import crud
from campaigns.state.db import engine_for
from campaigns.state.models import CampaignCreate, CampaignStatus, Sample
from campaigns.storage import Storage, sample_key

CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="suggested" toName="text" value="$suggestions" choice="single"/></View>"""
EARLIER = 1000  # annotations of an earlier wave, in the first export


def choice(code: str) -> list[dict]:
    return [
        {"from_name": SUGGESTED, "to_name": TEXT, "type": "choices", "value": {"choices": [code]}}
    ]


def sample_table(n: int) -> pa.Table:
    """A drawn sample's rows as ``export_campaign`` joins them (design columns included)."""
    return pa.table(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "text": [f"TEXTE {i}" for i in range(n)],
            "predicted_code": ["62.01Z"] * n,
            "confidence": [0.5] * n,
            "stratum": ["all"] * n,
            "inclusion_prob": [0.1] * n,
            "weight": [10.0] * n,
            "stratum_population": [10 * n] * n,
            "stratum_sample_size": [n] * n,
            "sample_id": ["bench"] * n,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3, help="Runs of ours (best of).")
    parser.add_argument(
        "--reference-runs", type=int, default=0, help="Full exports (default: 2, 1 from 50k)."
    )
    parser.add_argument("--reference-timeout", type=float, default=600.0)
    args = parser.parse_args()
    n, new = args.tasks, args.new
    reference_runs = args.reference_runs or (2 if n < 50_000 else 1)
    server = None
    url, token = (
        os.environ.get("CAMPAIGNS_LABEL_STUDIO_URL"),
        os.environ.get("CAMPAIGNS_LABEL_STUDIO_TOKEN"),
    )
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    if not (url and token):
        from services.local_stack import start_label_studio_copy

        server = start_label_studio_copy(work / "ls")
        url, token = server.url, server.token
    try:
        gateway = LabelStudioGateway(url, token)
        project = gateway.create_project("bench export", CONFIG)
        tasks = [
            {
                "data": {
                    KEY_FIELD: f"1:r{i}",
                    "request_id": f"r{i}",
                    "text": f"TEXTE {i}",
                    "suggestions": [{"value": "62.01Z"}, {"value": "62.02A"}],
                }
            }
            for i in range(n)
        ]
        # An earlier wave of annotations, seeded with the import: on the tasks imported last, so
        # the first export's cursor is past every import, as when experts annotate after a push.
        for task in tasks[n - EARLIER :]:
            task["annotations"] = [{"result": choice("62.01Z")}]
        gateway.import_tasks(project, tasks[: n - EARLIER])
        gateway.import_tasks(project, tasks[n - EARLIER :])

        storage = Storage.open(str(work / "data"))
        storage.write_table(sample_table(n), sample_key("bench"))
        session = Session(engine_for(f"sqlite:///{work / 'campaigns.db'}"))
        session.add(
            Sample(
                id="bench",
                window_start=date(2026, 6, 1),
                window_end=date(2026, 9, 1),
                population_size=10 * n,
                sample_size=n,
                uri=storage.uri(sample_key("bench")),
            )
        )
        session.commit()
        campaign = crud.add_campaign(session, CampaignCreate(name="bench", sample_id="bench"))
        campaign.ls_project_id = project
        campaign.status = CampaignStatus.PUSHED
        crud.save(session, campaign)
        kit = kit_for(campaign, Settings(_env_file=None))
        first = export_campaign(session, storage, gateway, kit, campaign)
        assert first.annotations == EARLIER, first
        cursor, version = campaign.export_cursor, campaign.last_export_version

        listed = gateway._task_pages(project, {"fields": "task_only", "include": "id"}, 1000)
        http = httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Token {token}"})

        def annotate(task_id: int) -> None:  # as experts' browsers do, a few at once
            http.post(
                f"/api/tasks/{task_id}/annotations/", json={"result": choice("62.02A")}
            ).raise_for_status()

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(annotate, [t["id"] for t in listed[:new]]))

        def ours() -> int:
            campaign.export_cursor, campaign.last_export_version = cursor, version
            crud.save(session, campaign)
            storage.write_bytes(
                str(version).encode(), f"{EXPORTS_DIR}/campaign={campaign.id}/LATEST"
            )
            summary, seconds = timed(
                lambda: export_campaign(session, storage, gateway, kit, campaign)
            )
            assert summary.incremental and summary.tasks_read == new, summary
            assert summary.annotations == EARLIER + new, summary
            return seconds

        def reference() -> float | None:
            slow = LabelStudioGateway(url, token, timeout=args.reference_timeout)
            try:
                exported, seconds = timed(lambda: slow.client.projects.exports.as_json(project))
            except httpx.TimeoutException:
                return None
            assert len(exported) == n
            return seconds

        # The Label Studio part of ours, alone (before any full export loads the server).
        read = best_of(lambda: gateway.changed_tasks(project, since=str(cursor)), 3)
        # Alternate: a group of runs of ours, then the reference, so both see the same load.
        rounds = max(reference_runs, 1)
        per_round = -(-args.runs // rounds)
        ours_runs: list[float] = []
        reference_times: list[float | None] = []
        for _ in range(rounds):
            ours_runs += [ours() for _ in range(per_round)]
            reference_times.append(reference())
    finally:
        if server:
            server.stop()
    ours_s = min(ours_runs)
    finished = [t for t in reference_times if t is not None]
    print(f"export of a {n:,}-task project after {new} new annotations ({EARLIER:,} before)")
    print(
        f"  annotation-campaigns incremental export (read, parse, merge, Parquet): "
        f"{ours_s:6.2f} s (best of {len(ours_runs)})"
    )
    print(f"    of which reading the {new} changed tasks from Label Studio: {read:6.2f} s")
    if finished:
        reference_s = min(finished)
        print(
            f"  Label Studio full JSON export (as_json)                  : {reference_s:6.2f} s "
            f"(best of {len(finished)})"
        )
    else:
        reference_s = args.reference_timeout
        print(
            f"  Label Studio full JSON export (as_json): not finished in "
            f"{args.reference_timeout:.0f} s (the ratio below is against that bound)"
        )
    print(f"  speed-up: {reference_s / ours_s:.0f}x")
    print(f"ratio: {ours_s / reference_s:.3f}")


if __name__ == "__main__":
    main()
