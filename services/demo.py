"""``make demo``: the whole job end to end on synthetic traffic, with real local services.

Starts (or reuses) a local S3 server and Label Studio under ``.demo/``, generates a few
thousand realistic log lines, then runs the same CLI commands a user would: ingest, stats,
sample, create, push; simulates a few dozen expert annotations through Label Studio's REST
API; exports and prints the metrics. Label Studio keeps running so a person can annotate
more; ``make stop`` shuts both servers down.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from datetime import UTC, datetime

import pyarrow.parquet as pq

from services.local_stack import (
    REPO_ROOT,
    LabelStudioServer,
    LocalStack,
    S3Server,
    StackError,
    alive,
    load_state,
    save_state,
    start_label_studio,
    start_s3,
)

DEMO_DIR = REPO_ROOT / ".demo"
STATE = DEMO_DIR / "stack.json"


def _reuse_or_start() -> tuple[S3Server, LabelStudioServer]:
    """The servers of the last demo if they still run, else new ones; all or none start."""
    state = load_state(STATE)
    s3 = S3Server(**state["s3"]) if "s3" in state else None  # type: ignore[arg-type]
    ls = LabelStudioServer(**state["label_studio"]) if "label_studio" in state else None  # type: ignore[arg-type]
    with LocalStack() as stack:
        if s3 is None or not alive(s3.pid):
            print("Starting the local S3 server (SeaweedFS)...", flush=True)
            s3 = stack.start(
                "the S3 server (SeaweedFS)",
                start_s3,
                DEMO_DIR / "s3",
                access_key="demo",
                secret_key=s3.secret_key if s3 else None,
            )
        if ls is None or not alive(ls.pid):
            print("Starting Label Studio (first start: about 30 s of migrations)...", flush=True)
            ls = stack.start(
                "Label Studio",
                start_label_studio,
                DEMO_DIR / "label-studio",
                token=ls.token if ls else None,
                password=ls.password if ls else None,
            )
        stack.keep()
    save_state(STATE, s3=s3, label_studio=ls)
    return s3, ls


def stop() -> None:
    for name, server in load_state(STATE).items():
        pid = int(server["pid"])  # type: ignore[call-overload]
        if alive(pid):
            from services.local_stack import _stop

            _stop(pid)
            print(f"stopped {name} (pid {pid})")


def _run(*args: str) -> None:
    """Run a ``campaigns`` command in-process, showing it as the user would type it."""
    from services.cli import app

    print(f"\n$ campaigns {shlex.join(args)}", flush=True)
    try:
        app(list(args), standalone_mode=False)
    except SystemExit as exit_:
        if exit_.code:
            raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stop", action="store_true", help="stop the demo servers")
    parser.add_argument("--lines", type=int, default=5000, help="synthetic log lines")
    parser.add_argument("--sample-size", type=int, default=300)
    parser.add_argument("--annotate", type=int, default=60, help="simulated annotations")
    args = parser.parse_args()
    if args.stop:
        stop()
        return
    started = time.monotonic()
    try:
        s3, ls = _reuse_or_start()
    except StackError as err:
        print(f"error: {err}\nFix the cause above, then run make demo again.", file=sys.stderr)
        raise SystemExit(2) from None
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    os.environ.update(
        s3.env("s3://demo/campaigns")
        | ls.env()
        | {
            "CAMPAIGNS_DATABASE_URL": f"sqlite:///{DEMO_DIR / 'campaigns.db'}",
        }
    )
    from campaigns.config import get_settings
    from campaigns.errors import ConfigurationError
    from campaigns.state.db import get_engine

    get_settings.cache_clear()
    try:
        get_engine(get_settings())
    except ConfigurationError as err:  # a .demo/ left by an older version: start afresh
        old = DEMO_DIR / "campaigns.db"
        old.rename(old.with_suffix(f".db.{run_id}.bak"))
        print(f"{err.message} Kept it as {old.with_suffix(f'.db.{run_id}.bak')}.")

    logs = DEMO_DIR / "logs" / f"predictions-{run_id}.jsonl"
    truth = DEMO_DIR / "logs" / f"truth-{run_id}.parquet"
    _run(
        "traffic",
        "generate",
        str(logs),
        "--lines",
        str(args.lines),
        "--seed",
        str(int(time.time()) % 100000),
        "--truth",
        str(truth),
    )
    with logs.open("a") as out:  # what a real log file also holds, now and then
        out.write(
            '{"request_id": "broken-1", "timestamp": "not a date", "text": "X", '
            '"predictions": [{"code": "6201Z", "score": 0.9}]}\n'
        )
        out.write("this line is not JSON\n")
    _run("traffic", "ingest", str(logs))
    _run("traffic", "stats", "--days", "90")
    # No prior typed: with no gold campaign yet, Neyman takes the window's top-1 scores.
    _run(
        "plan", "--days", "90", "--margin", "0.05", "--confidence-edges", "0.5,0.8",
        "--allocation", "neyman",
    )  # fmt: skip
    _run(
        "sample", "--days", "90", "--size", str(args.sample_size), "--seed", "1",
        "--confidence-edges", "0.5,0.8", "--allocation", "neyman", "--margin", "0.05",
    )  # fmt: skip

    from campaigns.state import crud
    from campaigns.state.db import session_scope

    with session_scope(get_settings()) as session:
        sample_id = max(crud.list_samples(session), key=lambda s: s.created_at).id
    name = f"demo-gold-{run_id}"
    _run("create", name, "--sample", sample_id, "--description", "Demo gold-standard campaign")
    _run("push", name)

    from campaigns.nomenclatures import old_nomenclature
    from nace_mapping import Level
    from services.expert_simulator import LabelStudioExpert, simulate_experts

    nom = old_nomenclature(get_settings())
    with session_scope(get_settings()) as session:
        project_id = crud.get_campaign(session, name).ls_project_id
    truth_map = dict(zip(*pq.read_table(truth).to_pydict().values(), strict=True))

    def path(code: str) -> list[str]:
        chain = nom.ancestors(code)
        return [chain[Level.SECTION], chain[Level.DIVISION], code]

    print(f"\nSimulating {args.annotate} expert annotations through Label Studio's REST API...")
    counts = simulate_experts(
        LabelStudioExpert(ls.url, ls.token),
        int(project_id or 0),
        truth_map,
        path,
        n_tasks=args.annotate,
    )
    print(f"  {counts}")
    _run("export", name)
    _run("metrics", name)
    _run("progress", name)  # the stop rule: how far from the planned margin
    report = DEMO_DIR / f"report-{run_id}.html"
    _run("report", name, "--out", str(report))
    env_file = DEMO_DIR / "env"
    env_file.write_text(
        "".join(
            f"export {k}={shlex.quote(v)}\n"
            for k, v in sorted(os.environ.items())
            if k.startswith("CAMPAIGNS_")
        )
    )
    print(f"""
Done in {time.monotonic() - started:.0f} s.
Label Studio is running: {ls.url}/projects/{project_id}/data
  user: {ls.username}   password: {ls.password}
  API token: {ls.token}
S3 (SeaweedFS): {s3.endpoint}  key: {s3.access_key}  secret: {s3.secret_key}
Report (open it in a browser): {report}
Annotate more tasks in the browser, then: campaigns export {name} && campaigns metrics {name}
after loading the settings: source {env_file}   Stop the servers with: make stop
""")


if __name__ == "__main__":
    sys.exit(main())
