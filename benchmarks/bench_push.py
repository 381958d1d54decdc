"""Push: ``--tasks`` gold-standard tasks into a real Label Studio, in each suggestion mode.

For each mode of ``--suggestions`` (default: all four) a project with that mode's labeling
config gets the same sampled units as tasks through the product's push
(``LabelStudioGateway.import_tasks``: idempotence check, batches of 1,000): ``preselected``
(top-5 suggestions, the top-1 pre-selected: ``"selected": true`` in the task data, the case
with a pre-annotation), ``shown`` (the same suggestions, none selected), ``hidden`` (blind: no
suggestion), ``randomized`` (half of each, by the seeded draw).

Reference (same run, same server): Label Studio's bare bulk import of the preselected tasks'
data without predictions and without our idempotence check, through its SDK in batches of
1,000. The bare import and the modes alternate, ``--rounds`` times (a fresh project each
time); each figure is the best of its rounds. When the script started Label Studio itself it
also shows the server's CPU time of each import, which the machine's load disturbs less than
the wall time.

``--variants`` also times the ways of pre-selecting the top-1 as a Label Studio *prediction*
instead (what the product did before: Label Studio refreshes each predicted task's counters
inside the import request), each in a fresh project against the same bare reference (all at
``--batch`` tasks a request unless named):

- ``inline``: each task with its prediction, one request per batch (the former push);
- ``inline-250``, ``inline-5000``: the same with other batch sizes;
- ``after-batch``: each batch imported bare (``return_task_ids``), then its predictions in one
  ``POST /api/projects/{id}/import/predictions`` (ImportPredictionsAPI);
- ``after-all``: every batch imported bare, then all predictions in one such request;
- ``five``: five predictions a task (one per suggestion) instead of the top-1 only;
- ``one-of-five``: one prediction a task holding the five suggestions as five results;
- ``no-version``: the top-1 prediction without ``model_version``.

The last line is ``ratio: X``: our push with the pre-selection (``preselected``, else the first
mode measured) / the bare import, in time (lower is better; 2 is half the bare rate).

    python -m benchmarks.bench_push --tasks 10000 [--suggestions preselected]
    python -m benchmarks.bench_push --tasks 10000 --suggestions preselected \
        --variants after-batch,after-all,five,one-of-five,inline-250,inline-5000
    python -m benchmarks.bench_push --tasks 100000
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import CODES, TITLES, timed
from campaigns.config import Settings
from campaigns.duck import connect, fetch_arrow
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.gold.config import SUGGESTED, TEXT, gold_standard_config
from campaigns.labelstudio.gold.tasks import gold_tasks
from campaigns.nomenclatures import old_nomenclature
from campaigns.state.models import SuggestionMode
from campaigns.traffic.synthetic import generate_traffic

BATCH = 1000


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


VARIANTS = (
    "inline",
    "inline-250",
    "inline-5000",
    "after-batch",
    "after-all",
    "five",
    "one-of-five",
    "no-version",
)


def _post(gateway: LabelStudioGateway, path: str, body: Any, **params: str) -> Any:
    response = gateway.http.post(
        path,
        params=params,
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        headers={"Content-Type": "application/json"},
    )
    response.raise_for_status()
    return response.json()


def _bare_then_predictions(
    gateway: LabelStudioGateway, project: int, tasks: list[dict], batch: int, per_batch: bool
) -> None:
    """Tasks imported bare, then their predictions through ImportPredictionsAPI."""
    pending: list[dict] = []
    for start in range(0, len(tasks), batch):
        part = tasks[start : start + batch]
        ids = _post(
            gateway,
            f"/api/projects/{project}/import",
            [{"data": t["data"]} for t in part],
            commit_to_project="true",
            return_task_ids="true",
        )["task_ids"]
        pending += [
            p | {"task": i} for t, i in zip(part, ids, strict=True) for p in t["predictions"]
        ]
        if per_batch:
            _post(gateway, f"/api/projects/{project}/import/predictions", pending)
            pending = []
    if pending:
        _post(gateway, f"/api/projects/{project}/import/predictions", pending)


def _reshaped(tasks: list[dict], variant: str) -> list[dict]:
    """The preselected tasks with their predictions shaped as ``variant`` says."""
    out = copy.deepcopy(tasks)
    for task in out:
        (prediction,) = task["predictions"]
        (result,) = prediction["result"]
        codes = [s["value"] for s in task["data"]["suggestions"]]
        one_per_code = [result | {"value": {"choices": [c]}} for c in codes]
        if variant == "five":
            task["predictions"] = [prediction | {"result": [r]} for r in one_per_code]
        elif variant == "one-of-five":
            prediction["result"] = one_per_code
        elif variant == "no-version":
            prediction.pop("model_version", None)
    return out


def with_predictions(tasks: list[dict], sample: Any) -> list[dict]:
    """The preselected tasks the former way: no ``selected`` flag, the top-1 as a prediction."""
    rows = {
        r["request_id"]: r
        for r in sample.select(["request_id", "scores", "model_version"]).to_pylist()
    }
    out = copy.deepcopy(tasks)
    for task in out:
        top = task["data"]["suggestions"][0]
        top.pop("selected", None)
        row = rows[task["data"]["request_id"]]
        task["predictions"] = [
            {
                "model_version": row["model_version"] or "unknown",
                "score": float(row["scores"][0]),
                "result": [
                    {
                        "from_name": SUGGESTED,
                        "to_name": TEXT,
                        "type": "choices",
                        "value": {"choices": [top["value"]]},
                    }
                ],
            }
        ]
    return out


def variant_push(
    gateway: LabelStudioGateway, variant: str, tasks: list[dict], batch: int
) -> Callable[[int], object]:
    """How ``variant`` pushes ``tasks`` into a project (given its id)."""
    if variant.startswith("inline"):
        size = int(variant.split("-")[1]) if "-" in variant else batch
        return lambda p: gateway.import_tasks(p, tasks, batch_size=size)
    if variant in ("after-batch", "after-all"):
        per_batch = variant == "after-batch"
        return lambda p: _bare_then_predictions(gateway, p, tasks, batch, per_batch)
    shaped = _reshaped(tasks, variant)
    return lambda p: gateway.import_tasks(p, shaped, batch_size=batch)


def server_cpu_seconds(pid: int | None) -> float:
    """CPU time used so far by the Label Studio process (Linux), 0 when not ours to read."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument(
        "--suggestions",
        choices=[*(m.value for m in SuggestionMode), "all"],
        default="all",
        help="The suggestion mode to push in (default: each of them, one project each).",
    )
    parser.add_argument(
        "--rounds", type=int, default=0, help="Runs of each import (default: 2, 1 from 50k)."
    )
    parser.add_argument("--batch", type=int, default=BATCH, help="Tasks per import request.")
    parser.add_argument(
        "--variants",
        default="",
        help=f"Comma-separated other ways to push the preselected tasks: {', '.join(VARIANTS)}.",
    )
    args = parser.parse_args()
    n, batch = args.tasks, args.batch
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    rounds = args.rounds or (2 if n < 50_000 else 1)
    modes = (
        list(SuggestionMode) if args.suggestions == "all" else [SuggestionMode(args.suggestions)]
    )
    server = None
    url, token = (
        os.environ.get("CAMPAIGNS_LABEL_STUDIO_URL"),
        os.environ.get("CAMPAIGNS_LABEL_STUDIO_TOKEN"),
    )
    if not (url and token):
        from services.local_stack import start_label_studio_copy

        server = start_label_studio_copy(Path(tempfile.mkdtemp(prefix="bench-ls-")))
        url, token = server.url, server.token
    pid = server.pid if server else None
    titles = dict(zip(CODES, TITLES, strict=True))
    sample = sample_table(n)
    nomenclature = old_nomenclature(Settings(_env_file=None))
    tasks = {m: gold_tasks(sample, 1, lambda c: titles.get(c), suggestions=m) for m in modes}
    preselected = gold_tasks(sample, 1, lambda c: titles.get(c), suggestions="preselected")
    bare_tasks = [{"data": t["data"]} for t in preselected]
    predicted = with_predictions(preselected, sample) if variants else []
    # (wall, server CPU) of each run; the rerun of our push once its tasks are all there.
    runs: dict[str, list[tuple[float, float]]] = {m: [] for m in [*modes, *variants, "bare"]}
    reruns: dict[str, float] = {}
    try:
        gateway = LabelStudioGateway(url, token)

        def measure(key: str, push: Callable[[], object]) -> None:
            cpu = server_cpu_seconds(pid)
            _, seconds = timed(push)
            runs[key].append((seconds, server_cpu_seconds(pid) - cpu))

        for round_ in range(rounds):
            project = gateway.create_project(
                f"bench push bare {round_}", gold_standard_config(nomenclature, "fr", "preselected")
            )

            def bare(p: int = project) -> None:
                for start in range(0, n, batch):
                    gateway.client.projects.import_tasks(
                        id=p, request=bare_tasks[start : start + batch]
                    )

            measure("bare", bare)
            assert gateway.task_count(project) == n
            for mode in modes:
                project = gateway.create_project(
                    f"bench push {mode} {round_}", gold_standard_config(nomenclature, "fr", mode)
                )
                measure(
                    mode,
                    lambda p=project, t=tasks[mode]: gateway.import_tasks(p, t, batch_size=batch),
                )
                assert gateway.task_count(project) == n
                if round_ == 0:
                    again, reruns[mode] = timed(
                        lambda p=project, t=tasks[mode]: gateway.import_tasks(p, t)
                    )
                    assert again == 0
            for variant in variants:
                project = gateway.create_project(
                    f"bench push {variant} {round_}",
                    gold_standard_config(nomenclature, "fr", "preselected"),
                )
                push = variant_push(gateway, variant, predicted, batch)
                measure(variant, lambda p=project, push=push: push(p))
                assert gateway.task_count(project) == n
    finally:
        if server:
            server.stop()
    best = {k: min(v) for k, v in runs.items()}
    cpu = pid is not None
    print(f"push of {n:,} gold tasks into Label Studio (batches of {batch:,}), best of {rounds}")
    bare_s, bare_cpu = best["bare"]
    for mode in modes:
        seconds, server_s = best[mode]
        ticked = sum(
            1 for t in tasks[mode] if (t["data"].get("suggestions") or [{}])[0].get("selected")
        )
        print(
            f"  ours, {mode:11s} ({ticked:7,} pre-selected): {seconds:7.2f} s "
            f"{n / seconds:7,.0f} tasks/s  {bare_s / seconds:4.0%} of the bare rate"
            + (
                f"  (Label Studio CPU {server_s:6.2f} s, {server_s / bare_cpu:5.2f}x)"
                if cpu
                else ""
            )
            + f"   rerun, nothing to import: {reruns[mode]:5.2f} s"
        )
    for variant in variants:
        seconds, server_s = best[variant]
        print(
            f"  variant, {variant:12s} (LS predictions)   : {seconds:7.2f} s "
            f"{n / seconds:7,.0f} tasks/s  {bare_s / seconds:4.0%} of the bare rate"
            + (f"  (Label Studio CPU {server_s:6.2f} s)" if cpu else "")
        )
    print(
        f"  reference, bare import of the same data   : {bare_s:7.2f} s {n / bare_s:7,.0f} tasks/s"
        + (f"             (Label Studio CPU {bare_cpu:6.2f} s)" if cpu else "")
    )
    headline = SuggestionMode.PRESELECTED if SuggestionMode.PRESELECTED in modes else modes[0]
    print(f"ratio: {best[headline][0] / bare_s:.2f}")


if __name__ == "__main__":
    main()
