"""Export: read what changed in a 10,000-task project after 300 new annotations.

Ours: the incremental read (tasks whose ``updated_at`` moved since the cursor, with their
annotations) and their parsing. Baseline (same run, same project): Label Studio's full JSON
export of the project (``projects.exports.as_json``), which is what a naive export does. Each
is timed as the best of a few runs on the same server.

    python -m benchmarks.bench_export --tasks 10000 --new 300
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks._common import timed
from campaigns.labelstudio.gateway import KEY_FIELD, LabelStudioGateway
from campaigns.labelstudio.gold.config import SUGGESTED, TEXT
from campaigns.labelstudio.gold.results import annotations_table
from services.local_stack import start_label_studio_copy

CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="suggested" toName="text" value="$suggestions" choice="single"/></View>"""


def choice(code: str) -> list[dict]:
    return [
        {"from_name": SUGGESTED, "to_name": TEXT, "type": "choices", "value": {"choices": [code]}}
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=300)
    args = parser.parse_args()
    server = start_label_studio_copy(Path(tempfile.mkdtemp(prefix="bench-export-")))
    try:
        gateway = LabelStudioGateway(server.url, server.token)
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
            for i in range(args.tasks)
        ]
        for task in tasks[:1000]:  # an earlier wave of annotations, seeded with the import
            task["annotations"] = [{"result": choice("62.01Z")}]
        gateway.import_tasks(project, tasks)
        cursor = datetime.now(UTC).isoformat()
        http = httpx.Client(
            base_url=server.url, timeout=60, headers={"Authorization": f"Token {server.token}"}
        )
        listed = gateway._task_pages(project, {"fields": "task_only", "include": "id"}, 1000)
        ids = [t["id"] for t in listed[1000 : 1000 + args.new]]
        for task_id in ids:  # the new annotations, as experts' browsers create them
            http.post(
                f"/api/tasks/{task_id}/annotations/", json={"result": choice("62.02A")}
            ).raise_for_status()

        def incremental() -> int:
            changed = gateway.changed_tasks(project, since=cursor)
            return annotations_table(changed, lambda c: True).num_rows

        # Best of a few runs each: the first request of a fresh server pays Django's warm-up.
        runs = [timed(incremental) for _ in range(3)]
        read, ours = runs[0][0], min(t for _, t in runs)
        assert read == args.new, read
        naive = min(
            timed(lambda: gateway.client.projects.exports.as_json(project))[1] for _ in range(2)
        )
    finally:
        server.stop()
    print(f"export of a {args.tasks:,}-task project after {args.new} new annotations")
    print(f"  annotation-campaigns incremental read + parse: {ours:6.2f} s ({read} annotations)")
    print(f"  Label Studio full JSON export                : {naive:6.2f} s")
    print(f"  speed-up: {naive / ours:.0f}x")


if __name__ == "__main__":
    main()
