"""``campaigns traffic``: ingest prediction logs, generate synthetic ones, look at the traffic."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from campaigns.traffic.ingest import ingest_file
from campaigns.traffic.synthetic import generate_traffic
from campaigns.traffic.window import Window, confidence_histogram, daily_stats
from services.cli import context

app = typer.Typer(help="Prediction logs -> partitioned Parquet traffic.", no_args_is_help=True)


@app.command()
def ingest(
    logs: Annotated[list[Path], typer.Argument(help="JSON-lines log files (.jsonl or .jsonl.gz).")],
) -> None:
    """Ingest the classification API's prediction logs into the traffic table.

    Each line is one prediction (request_id, timestamp, text, predictions [{code, score}],
    optional context, model_name, model_version; extra fields are kept). Malformed lines go
    to a quarantine file with their reason and are counted. Re-ingesting a file is a no-op.

    Example: campaigns traffic ingest logs/2026-09-*.jsonl.gz
    """
    store = context.storage()
    table = Table(
        "file",
        "lines",
        "written",
        "already there",
        "duplicates",
        "quarantined",
        title=f"Ingested into {store.uri('traffic')}",
    )
    notes: list[str] = []
    quarantine_notes: list[str] = []
    with Progress(
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=context.err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("ingesting", total=len(logs))
        for path in logs:
            progress.update(task, description=f"ingesting {path.name}")
            summary = ingest_file(path, store)
            table.add_row(
                path.name + (" (already ingested)" if summary.skipped_as_already_ingested else ""),
                str(summary.lines),
                str(summary.written),
                str(summary.already_present),
                str(summary.duplicates_in_file),
                str(summary.quarantined),
            )
            if summary.skipped_as_already_ingested:
                notes.append(f"{path.name}: already ingested (same content), nothing written.")
            if summary.quarantined:
                reasons = ", ".join(f"{r}: {n}" for r, n in summary.quarantine_reasons.items())
                quarantine_notes.append(f"{path.name}: {reasons} -> {summary.quarantine_uri}")
            progress.advance(task)
    context.console.print(table)
    for note in notes:
        context.console.print(note, highlight=False)
    for note in quarantine_notes:
        context.console.print(f"[yellow]Quarantined[/] {note}", highlight=False)


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(help="Where to write the JSON-lines file.")],
    lines: Annotated[int, typer.Option(help="Number of log lines.")] = 5000,
    days: Annotated[int, typer.Option(help="Spread over this many days before --end.")] = 90,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), default today.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    truth: Annotated[Path | None, typer.Option(help="Also write the true codes (Parquet).")] = None,
) -> None:
    """Write realistic synthetic prediction logs (for trying the tool without production data).

    Example: campaigns traffic generate logs/synthetic.jsonl --lines 100000
    """
    import pyarrow.parquet as pq

    from campaigns.nomenclatures import old_nomenclature

    nom = old_nomenclature(context.settings())
    codes = nom.subclasses
    synthetic = generate_traffic(
        codes,
        [nom.title(c) or c for c in codes],
        n=lines,
        days=days,
        seed=seed,
        end=date.fromisoformat(end) if end else None,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    synthetic.write_jsonl(out)
    if truth:
        pq.write_table(synthetic.truth, truth)
    context.console.print(f"Wrote {lines} synthetic log lines to {out}")


def _window(days: int, end: str | None) -> Window:
    return Window.last_days(days, date.fromisoformat(end) if end else None)


@app.command()
def stats(
    days: Annotated[int, typer.Option(help="Window length in days.")] = 90,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), default today.")] = None,
    threshold: Annotated[float | None, typer.Option(help="Automatic-coding threshold.")] = None,
) -> None:
    """Volume per day, confidence distribution and automatic-coding rate of a window.

    Example: campaigns traffic stats --days 30
    """
    settings = context.settings()
    t = settings.auto_coding_threshold if threshold is None else threshold
    window = _window(days, end)
    per_day = daily_stats(context.storage(), window, t).to_pylist()
    table = Table(
        "day",
        "requests",
        "mean confidence",
        f"auto-coded (>= {t:g})",
        title=f"Traffic {window.describe()}",
    )
    for row in per_day:
        table.add_row(
            str(row["day"]),
            str(row["requests"]),
            f"{row['mean_confidence']:.3f}",
            f"{row['auto_coding_rate']:.1%}",
        )
    context.console.print(table)
    total = sum(r["requests"] for r in per_day)
    auto = sum(r["requests"] * r["auto_coding_rate"] for r in per_day)
    context.console.print(
        f"{total} requests over {len(per_day)} days; "
        f"automatic-coding rate {auto / total:.1%} at threshold {t:g}"
    )
    hist = confidence_histogram(context.storage(), window).to_pylist()
    peak = max(r["requests"] for r in hist)
    context.console.print("Confidence index distribution:")
    for row in hist:
        bar = "#" * max(1, round(40 * row["requests"] / peak))
        context.console.print(
            f"  {row['bin_start']:.1f}-{row['bin_start'] + 0.1:.1f} {row['requests']:>8} {bar}",
            highlight=False,
        )
