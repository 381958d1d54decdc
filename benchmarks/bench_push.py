"""Push: 10,000 gold-standard tasks with their top-5 pre-annotations into a real Label Studio.

Baseline (same run, same server): Label Studio's bare bulk import of the same tasks without
predictions and without our idempotence check. Starts its own Label Studio (a copy of the migrated
template, a few seconds) unless
CAMPAIGNS_LABEL_STUDIO_URL and CAMPAIGNS_LABEL_STUDIO_TOKEN point at one.

    python -m benchmarks.bench_push --tasks 10000
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from benchmarks._common import CODES, TITLES, timed
from campaigns.duck import connect, fetch_arrow
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.gold.tasks import gold_tasks
from campaigns.traffic.synthetic import generate_traffic

CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="suggested" toName="text" value="$suggestions" choice="single"/></View>"""


def sample_table(n: int):
    logs = generate_traffic(CODES, TITLES, n=n, seed=5).logs
    con = connect()
    con.register("logs", logs)
    return fetch_arrow(
        con,
        """
        SELECT request_id, text, to_json(context)::VARCHAR AS context,
               [p.code FOR p IN predictions] AS predicted_codes,
               [p.score FOR p IN predictions] AS scores,
               predictions[1].score - predictions[2].score AS confidence,
               'all' AS stratum, model_version
        FROM logs""",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    server = None
    url, token = (
        os.environ.get("CAMPAIGNS_LABEL_STUDIO_URL"),
        os.environ.get("CAMPAIGNS_LABEL_STUDIO_TOKEN"),
    )
    if not (url and token):
        from services.local_stack import start_label_studio_copy

        server = start_label_studio_copy(Path(tempfile.mkdtemp(prefix="bench-ls-")))
        url, token = server.url, server.token
    try:
        gateway = LabelStudioGateway(url, token)
        titles = dict(zip(CODES, TITLES, strict=True))
        tasks = gold_tasks(sample_table(args.tasks), 1, lambda c: titles.get(c))
        ours_project = gateway.create_project("bench push ours", CONFIG)
        imported, ours = timed(lambda: gateway.import_tasks(ours_project, tasks))
        assert imported == args.tasks and gateway.task_count(ours_project) == args.tasks
        _, rerun = timed(lambda: gateway.import_tasks(ours_project, tasks))

        bare_tasks = [{"data": t["data"]} for t in tasks]
        bare_project = gateway.create_project("bench push bare", CONFIG)

        def bare() -> None:
            for start in range(0, len(bare_tasks), 1000):
                gateway.client.projects.import_tasks(
                    id=bare_project, request=bare_tasks[start : start + 1000]
                )

        _, naive = timed(bare)
    finally:
        if server:
            server.stop()
    n = args.tasks
    print(f"push of {n:,} tasks into Label Studio (batches of 1,000)")
    print(
        f"  annotation-campaigns push (with top-5 predictions): {ours:6.2f} s"
        f"  {n / ours:7,.0f} tasks/s"
    )
    print(
        f"  bare bulk import, no predictions                 : {naive:6.2f} s"
        f"  {n / naive:7,.0f} tasks/s"
    )
    print(f"  rerun of the push (all present, nothing imported) : {rerun:6.2f} s")


if __name__ == "__main__":
    main()
