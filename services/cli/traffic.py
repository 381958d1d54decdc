"""``campaigns traffic``: ingest prediction logs, generate synthetic ones, look at the traffic."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from services.cli import context

if TYPE_CHECKING:  # the heavy modules (DuckDB, Arrow) load inside the commands only
    from campaigns.storage import Storage
    from campaigns.traffic.ingest import IngestSummary
    from campaigns.traffic.window import Window

app = typer.Typer(help="Prediction logs -> partitioned Parquet traffic.", no_args_is_help=True)


class LogFormat(StrEnum):
    json = "json"
    insee_api = "insee-api"


@app.command(
    epilog=(
        "Examples: campaigns traffic ingest logs/2026-09-*.jsonl.gz  |  "
        "campaigns traffic ingest --format insee-api api/codification-ape.log*  |  "
        "campaigns traffic ingest --map request_id=id --map text=libelle "
        "--map predictions.code=codes --map predictions.score=probas export.parquet  |  "
        "campaigns traffic ingest --map-file mapping.toml export.jsonl"
    )
)
def ingest(
    logs: Annotated[
        list[Path],
        typer.Argument(help="Log files: JSON lines (.jsonl, .jsonl.gz...), API logs, Parquet."),
    ],
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--format",
            help="json: one JSON object per line, our format (README 'Log format'). "
            "insee-api: the production API's Python-logging lines "
            "('2025-03-14 09:12:55,123 - INFO - {'Query': ..., 'Response': ...}'); other "
            "lines (startup, tracebacks) are skipped and counted.",
        ),
    ] = LogFormat.json,
    field_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="TARGET=SOURCE: read JSON lines or Parquet of another shape. Targets: "
            "request_id, timestamp, text, model_name, model_version, confidence, context, "
            "context.NAME, predictions (a list of {code, score}; predictions.code and "
            "predictions.score name their fields) or predictions.code + predictions.score "
            "(two parallel lists). SOURCE is a field name or a dotted path (a.b). A target "
            "not mapped is read from the field of its own name. Repeat the option.",
        ),
    ] = None,
    map_file: Annotated[
        Path | None,
        typer.Option(
            help='The same mapping as a TOML file: text = "libelle", '
            '"predictions.code" = "codes"... (--map wins).',
        ),
    ] = None,
) -> None:
    """Ingest the classification API's prediction logs into the traffic table.

    Each line is one prediction (request_id, timestamp, text, predictions [{code, score}],
    optional context, model_name, model_version; extra fields are kept). Malformed lines go
    to the quarantine with their reason, a request_id seen again with other content to the
    conflicts; both are counted, and neither stops the run (exit code 0). Re-ingesting a file
    is a no-op. Exit code 2 only when a file cannot be read at all, its fields do not match
    the mapping, or the storage fails (the other files are still ingested).

    Example: campaigns traffic ingest logs/2026-09-*.jsonl.gz
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from campaigns.errors import CampaignError
    from campaigns.traffic.formats import parser_for
    from campaigns.traffic.formats.mapping import FieldMapping
    from campaigns.traffic.ingest import ingest_file

    mapping = None
    if field_map or map_file:
        if log_format is not LogFormat.json:
            raise typer.BadParameter(
                "--map and --map-file read JSON lines or Parquet; drop --format insee-api.",
                param_hint="--map",
            )
        mapping = FieldMapping.parse(field_map or [], map_file)  # a bad mapping: exit 2
    parser = parser_for(log_format.value)
    store = context.storage()
    summaries: list[IngestSummary] = []
    failed: list[str] = []
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
            progress.update(task, description=f"ingesting {escape(path.name)}")
            try:
                summaries.append(ingest_file(path, store, parser=parser, mapping=mapping))
            except CampaignError as err:  # this file only: the others are still ingested
                failed.append(path.name)
                context.err_console.print(
                    f"[bold red]Error:[/] {escape(path.name)}: {escape(err.one_line())}",
                    highlight=False,
                )
            progress.advance(task)
    context.console.print(escape(ingest_summary_line(summaries, failed, store)), highlight=False)
    if failed:
        raise typer.Exit(2)


def ingest_summary_line(summaries: list[IngestSummary], failed: list[str], store: Storage) -> str:
    """One line for the whole run: what a nightly job's log needs, whatever the file count.

    Quarantine reasons are grouped by rule ("invalid timestamp: x" and "...: y" count as one),
    the details stay in the quarantine table.
    """
    from campaigns.traffic.ingest import CONFLICTS_DIR, QUARANTINE_DIR

    read = [s for s in summaries if not s.skipped_as_already_ingested]
    skipped = len(summaries) - len(read)
    files = len(summaries) + len(failed)
    notes = [f"{skipped} already ingested, skipped"] if skipped else []
    notes += [f"{len(failed)} failed"] if failed else []
    head = f"{files} file{'s' if files != 1 else ''}" + (f" ({', '.join(notes)})" if notes else "")
    reasons: dict[str, int] = {}
    for summary in read:
        for reason, count in summary.quarantine_reasons.items():
            rule = reason.split(": ", 1)[0]
            reasons[rule] = reasons.get(rule, 0) + count
    quarantined = sum(s.quarantined for s in read)
    line = (
        f"{head}: {sum(s.lines for s in read)} lines, {sum(s.written for s in read)} ingested, "
        f"{sum(s.duplicates for s in read)} duplicates, {sum(s.conflicts for s in read)} "
        f"conflicts, {quarantined} quarantined"
    )
    skipped_lines = sum(s.skipped_lines for s in read)
    if skipped_lines:  # application logs: startup messages, warnings, tracebacks
        line = line.replace(
            f"{quarantined} quarantined",
            f"{skipped_lines} not predictions (skipped), {quarantined} quarantined",
        )
    if reasons:
        by_rule = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        line += " (" + ", ".join(f"{rule}: {count}" for rule, count in by_rule) + ")"
    if quarantined or any(s.conflicts for s in read):
        line += f"; see {store.uri(QUARANTINE_DIR)} and {store.uri(CONFLICTS_DIR)}"
    return line


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
    from campaigns.traffic.synthetic import generate_traffic

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
    from campaigns.traffic.window import Window

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
    from rich.table import Table

    from campaigns.traffic.window import confidence_histogram, daily_stats

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
