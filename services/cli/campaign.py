"""Campaign commands: create, push, export, metrics, list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from campaigns.state.enums import CampaignKind, SuggestionMode
from services.cli import context
from services.cli.registry_feedback import print_feedback


def create(
    name: Annotated[str, typer.Argument(help="A unique campaign name.")],
    sample_id: Annotated[str, typer.Option("--sample", help="The sample to annotate.")],
    overlap: Annotated[int, typer.Option(help="Experts per task (agreement needs >= 2).")] = 1,
    description: Annotated[str, typer.Option(help="Shown in Label Studio.")] = "",
    route: Annotated[
        list[str] | None,
        typer.Option(
            help="Route units to an expert team's own project: team=patterns (section "
            "letters, divisions, ranges 10-33, code prefixes, * for the rest). Repeat it.",
        ),
    ] = None,
    suggestions: Annotated[
        SuggestionMode,
        typer.Option(
            help="What experts see of the model: hidden (blind, the default: the model cannot "
            "bias the gold), shown (top-5 listed), preselected (top-5, top-1 selected), "
            "randomized (each task blind or preselected by a seeded draw: measures the "
            "anchoring effect, see 'campaigns metrics').",
        ),
    ] = SuggestionMode.HIDDEN,
) -> None:
    """Create a gold-standard campaign: a Label Studio project on a drawn sample.

    Experts see the text, its context and the whole nomenclature to search; with
    --suggestions shown or preselected, the model's top-5 too. Then run 'campaigns push
    NAME'. With --route, each team gets its own project with the units its rule sends it
    (first matching rule wins); push, export, metrics and progress then work per team and
    for the whole.

    Example: campaigns create sept-gold --sample srs-20260601-20260901-1a2b3c4d

    Example: campaigns create sept-gold --sample ID --route agri=A --route trade=G
    --route others=*

    Example: campaigns create sept-anchoring --sample ID --suggestions randomized
    """
    from campaigns.state import crud
    from campaigns.state.models import CampaignCreate

    with context.service() as service:
        campaign = service.create(
            CampaignCreate(
                name=name,
                sample_id=sample_id,
                kind=CampaignKind.GOLD,
                description=description,
                annotations_per_task=overlap,
                routing=";".join(route or []),
                suggestions=suggestions,
            )
        )
        teams = crud.team_campaigns(service.session, campaign)
        projects = (
            ", ".join(f"{escape(t.team or '')}: project {t.ls_project_id}" for t in teams)
            if teams
            else f"Label Studio project {campaign.ls_project_id}"
        )
        context.console.print(
            f"Campaign [bold]{campaign.id}[/] '{escape(campaign.name)}' created: {projects}. "
            f"Next: campaigns push {campaign.id}"
        )


def push(
    campaign_ref: context.CampaignArg,
    batch_size: Annotated[int, typer.Option(help="Tasks per import request.")] = 1000,
) -> None:
    """Import the campaign's tasks into Label Studio, in bulk (safe to rerun after a failure).

    Example: campaigns push sept-gold
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with (
        context.service() as service,
        Progress(
            "pushing",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=context.err_console,
            transient=True,
        ) as progress,
    ):
        bar = progress.add_task("push", total=None)
        summary = service.push(
            campaign_ref, batch_size=batch_size, on_batch=lambda n: progress.advance(bar, n)
        )
    where = (
        ", ".join(f"{escape(team)}: {n}" for team, n in summary.teams.items())
        if summary.teams
        else f"project {summary.project_id}"
    )
    context.console.print(
        f"Pushed {summary.imported} new tasks ({summary.already_present} already there) to "
        f"{where}: {summary.project_url}"
    )


def export(
    campaign_ref: context.CampaignArg,
    full: Annotated[
        bool, typer.Option("--full", help="Reread every annotated task, not only changes.")
    ] = False,
    from_storage: Annotated[
        str | None,
        typer.Option(help="Read Label Studio's S3 export storage (s3://bucket/prefix) instead."),
    ] = None,
) -> None:
    """Export the annotations to Parquet (a new snapshot version), joined with the sample.

    Incremental: after the first export only the tasks changed in Label Studio since the last
    one are read; edited and deleted annotations are reflected. Writes
    exports/campaign=ID/version=V/{annotations,gold}.parquet and moves LATEST to V.

    Example: campaigns export sept-gold [--from-storage s3://bucket/ann]
    """
    if from_storage:  # moving existing campaigns in: services/cli/adopt.py
        from services.cli.adopt import export_from_storage

        return export_from_storage(campaign_ref, from_storage, full=full)
    with context.service() as service:
        summary = service.export(campaign_ref, full=full)
        adopted = service.campaign(campaign_ref).adopted_mapping is not None
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary.status_counts.items()))
    context.console.print(
        f"Exported {summary.annotations} annotations ({counts}) as version {summary.version}"
        f" ({'incremental: ' if summary.incremental else 'full: '}{summary.tasks_read} tasks"
        " read from Label Studio)\n"
        f"  {summary.gold_uri}\n  gold rule: {summary.gold_rule}"
    )
    warning = summary.warning(adopted)
    if warning:
        context.console.print(f"[yellow]{escape(warning)}[/yellow]")


def metrics(
    campaign_ref: context.CampaignArg,
    threshold: Annotated[float | None, typer.Option(help="Automatic-coding threshold.")] = None,
    replicates: Annotated[
        int,
        typer.Option(
            help="Bootstrap replicates for a randomized campaign's anchoring effect; headline "
            "figures and the threshold curve use the linearised design variance (no bootstrap)."
        ),
    ] = 1000,
    write: Annotated[
        bool, typer.Option(help="Write the figures as Parquet for the dashboard.")
    ] = True,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the figures as JSON (the keys of GET /campaigns/ID/metrics)."
        ),
    ] = False,
) -> None:
    """Every figure of the latest export, and the Parquet tables the dashboard reads.

    Estimates are design-weighted (they hold for the whole traffic window), with 95%
    intervals: a Wilson score interval on the design's effective sample size (the binomial
    count for a simple random sample), Jeffreys bounds on a side with fewer than 5 effective
    units. Also: accuracy at every nomenclature level and per section (with intervals), top-k,
    system accuracy, the threshold curve, per-class scores, calibration, agreement, per-expert
    figures, and a test of whether the units annotated so far are a random part of the sample
    (see docs/metrics.md).

    Example: campaigns metrics sept-gold --threshold 0.8
    """
    from campaigns.model_registry.feedback import feed_gold_metrics

    with context.service() as service:
        result = service.metrics(
            campaign_ref, threshold=threshold, replicates=replicates, write=write
        )
        campaign = service.campaign(campaign_ref)
        feedback = feed_gold_metrics(
            service.settings, service.storage, service.session, campaign, result
        )
    if as_json:
        import json

        print(json.dumps(result.as_json(), indent=2, default=str))
        print_feedback(feedback, warnings_only=True)
        return
    from services.cli.figures_table import print_metrics

    print_metrics(context.console, result.metrics)
    if result.written:
        root = result.written["figures"].split("/metrics/")[0]
        context.console.print(
            f"Wrote {len(result.written)} tables under {escape(root)}/metrics/ "
            f"(export {result.export_version})"
        )
    print_feedback(feedback)


def report(
    campaign_ref: context.CampaignArg,
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write (default: <campaign>-report.html).")
    ] = None,
    threshold: Annotated[float | None, typer.Option(help="Automatic-coding threshold.")] = None,
) -> None:
    """A self-contained HTML report of the latest export: open it in any browser, offline.

    Threshold curve (automatic-coding rate vs accuracy, with intervals), accuracy at every
    nomenclature level and top-k, calibration, the hardest classes, experts, adjudication.
    A copy is stored beside the metrics on the storage root.

    Example: campaigns report sept-gold --out sept.html
    """
    with context.service() as service:
        campaign = service.campaign(campaign_ref)
        page, uri = service.report(campaign.id or 0, threshold=threshold)
    target = out or Path(f"campaign-{campaign.id}-report.html")
    target.write_text(page, encoding="utf-8")
    context.console.print(
        f"Report written to {escape(str(target))} ({len(page) / 1e6:.1f} MB, offline)\n"
        f"  and stored at {escape(uri or '')}"
    )


def progress(
    campaign_ref: context.CampaignArg,
    margin: Annotated[
        float | None,
        typer.Option(
            min=0.0001,
            max=0.9999,
            help="Target half-width of the accuracy's 95% interval (default: the margin the "
            "sample was planned for, else the CAMPAIGNS_TARGET_MARGIN setting, 0.02).",
        ),
    ] = None,
) -> None:
    """Label Studio's live counters for the campaign (per team too), agreement so far, and
    when to stop.

    From the latest export (run 'campaigns export' first; it is incremental): the headline
    accuracy's 95% half-width against the target margin (--margin, else the one given at
    'campaigns sample --margin', else CAMPAIGNS_TARGET_MARGIN), the coded units and
    annotations still needed to reach it (n_done * (half-width / target)^2, the design
    effect included), and the days that takes at the pace of the last 7 days.

    Example: campaigns progress sept-gold

    Example: campaigns progress sept-gold --margin 0.03
    """
    with context.service() as service:
        state = service.progress(campaign_ref, margin=margin)
    context.console.print(
        f"{state['tasks_annotated']}/{state['tasks']} tasks annotated "
        f"({state['progress']:.0%}), {state['annotations']} annotations, "
        f"{state['skipped']} skipped; status {state['status']}"
    )
    for team, counts in state["teams"].items():
        context.console.print(
            f"  {escape(team)}: {counts['tasks_annotated']}/{counts['tasks']} tasks annotated"
        )
    from services.cli.figures_table import print_annotation_order

    print_annotation_order(context.console, state.get("annotation_order") or {})
    stop = state["stop"]
    if stop is None:
        context.console.print(f"Stop rule: {escape(state['stop_note'])}.")
        return
    context.console.print(
        f"Accuracy {stop['accuracy']:.3f} [{stop['ci_low']:.3f}, {stop['ci_high']:.3f}]: "
        f"half-width {stop['half_width']:.4f} for a target of {stop['target_margin']} "
        f"({stop['margin_source']}), {stop['units_done']} coded units "
        f"(export {stop['export_version']})"
    )
    if stop["reached"]:
        context.console.print("[green]Target reached: annotation can stop.[/]")
        return
    deff = stop["design_effect"]
    context.console.print(
        f"About {stop['units_needed']} coded units needed (design effect "
        f"{deff:.2f}): {stop['units_left']} more, {stop['tasks_left']} tasks, "
        f"{stop['annotations_left']} annotations"
        if deff is not None
        else f"About {stop['units_needed']} coded units needed: {stop['units_left']} more, "
        f"{stop['tasks_left']} tasks, {stop['annotations_left']} annotations"
    )
    pace = stop["pace_per_day"]
    if stop["days_left"] is None:
        context.console.print("No annotation in the last 7 days: no pace to extrapolate.")
    else:
        context.console.print(
            f"At {pace:.1f} annotations a day (last 7 days): about {stop['days_left']:.1f} days."
        )
    if stop["beyond_sample"]:
        context.console.print(
            f"[yellow]The sample holds {stop['sample_size']} units: not enough to reach the "
            "target; draw a larger sample.[/]"
        )


def archive(
    campaign_ref: context.CampaignArg,
) -> None:
    """Close a campaign: no more pushes nor webhook exports; its exports stay readable.

    Example: campaigns archive sept-gold
    """
    with context.service() as service:
        campaign = service.archive(campaign_ref)
    context.console.print(f"Campaign {campaign.id} '{escape(campaign.name)}' archived.")


def list_campaigns(
    kind: Annotated[CampaignKind | None, typer.Option(help="Only this kind.")] = None,
) -> None:
    """List campaigns.

    Example: campaigns list --kind gold
    """
    table = Table("id", "name", "kind", "status", "sample", "LS project", "tasks")
    from campaigns.state import crud

    with context.session() as session:
        for c in crud.list_campaigns(session, kind=kind):
            table.add_row(
                str(c.id),
                escape(c.name),
                c.kind,
                c.status,
                escape(c.sample_id),
                str(c.ls_project_id),
                str(c.tasks_pushed),
            )
    context.console.print(table)


def nightly(
    threshold: Annotated[float | None, typer.Option(help="Automatic-coding threshold.")] = None,
) -> None:
    """Export every open campaign (incrementally), then write its metrics for the dashboard.

    What the scheduled job runs after ingesting the day's logs (see compose.yaml). A campaign
    that fails is reported and the others still run; the exit code is 1 if any failed.

    Example: campaigns traffic ingest /logs/*.jsonl.gz && campaigns nightly
    """
    with context.service() as service:
        report = service.nightly(threshold=threshold)
    for o in report.outcomes:
        if o.error is None:
            context.console.print(
                f"{escape(o.campaign)}: {o.annotations} annotations, {o.tasks_read} tasks "
                f"read, version {o.version}, {o.metrics_tables} metrics tables"
            )
    for o in report.outcomes:
        for line in o.registry:
            context.console.print(f"{escape(o.campaign)}: {escape(line)}", highlight=False)
    for o in report.failed:
        context.err_console.print(f"[red]{escape(o.campaign)}: {escape(o.error or '')}[/]")
    if report.failed:
        context.err_console.print(
            f"{len(report.failed)} of {len(report.outcomes)} campaigns failed."
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(create)
    app.command()(push)
    app.command()(export)
    app.command()(metrics)
    app.command()(report)
    app.command()(progress)
    app.command()(archive)
    app.command("list")(list_campaigns)
    app.command()(nightly)
