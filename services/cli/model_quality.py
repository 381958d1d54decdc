"""``campaigns compare`` (champion vs challenger on a gold standard) and ``campaigns trend``
(accuracy over time across gold campaigns, with an alert floor).

Also the HTTP transport of a challenger served behind the production API's batch contract
(``HttpClassifier``): the core (``campaigns.lifecycle.compare``) builds the forms, batches,
retries and parses; only this adapter speaks HTTP, as only the gateway speaks to Label Studio.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from services.cli import context
from services.cli.registry_feedback import print_feedback

if TYPE_CHECKING:
    import httpx

    from campaigns.lifecycle.compare import CampaignComparison
    from campaigns.metrics.trend import TrendResult

PASSWORD_VARIABLE = "CHALLENGER_API_PASSWORD"


class HttpClassifier:
    """The classifier's ``POST /batch/predict`` (InseeFrLab/codif-ape-API's contract) over httpx.

    ``url`` is the API's base URL (a URL ending in ``/batch/predict`` is accepted too). HTTP
    basic credentials when the API asks for them. Connection errors, timeouts, 429 and 5xx
    are transient (the caller retries the batch); 401/403 and other 4xx are not.
    ``prob_min=0`` so every form gets its top-k (the API answers 400 to a batch where one
    form has no prediction above ``prob_min``).

    Nothing the server does can hold the comparison: the answer is streamed and refused past
    ``max_body_bytes`` (uncompressed: the body is asked for as is), each batch has
    ``batch_deadline`` seconds in all (httpx's timeout bounds each read, not the whole, so a
    server sending a byte every few seconds would never time out), and every batch together
    ``deadline`` seconds from this client's creation. Unset, the three come from the settings
    (``CAMPAIGNS_CHALLENGER_*``). A batch is posted from a worker thread the caller waits for
    at most the batch's time; the worker stops at the next byte it receives once abandoned.
    """

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 60.0,
        top: int = 5,
        max_body_bytes: int | None = None,
        batch_deadline: float | None = None,
        deadline: float | None = None,
    ) -> None:
        import time

        import httpx

        from campaigns.lifecycle.compare import BATCH_PATH

        if None in (max_body_bytes, batch_deadline, deadline):
            settings = context.settings()
            max_body_bytes = max_body_bytes or settings.challenger_max_body_bytes
            batch_deadline = batch_deadline or settings.challenger_batch_deadline
            deadline = deadline or settings.challenger_deadline
        assert max_body_bytes is not None and batch_deadline is not None and deadline is not None
        self.url = url.rstrip("/").removesuffix(BATCH_PATH)
        self.top = top
        self.path = BATCH_PATH
        self.where = f"{self.url}{self.path}"
        self.max_body_bytes = max_body_bytes
        self.batch_deadline = batch_deadline
        self.deadline = deadline
        self.ends_at = time.monotonic() + deadline
        self.client: httpx.Client = httpx.Client(
            base_url=self.url,
            timeout=min(timeout, batch_deadline),
            auth=httpx.BasicAuth(user, password or "") if user else None,
            headers={"Accept-Encoding": "identity"},  # the size cap is the body's real size
        )

    def __call__(self, forms: list[dict[str, Any]]) -> list[dict[str, Any]]:
        import threading
        import time

        from campaigns.errors import ServiceUnavailableError
        from campaigns.lifecycle.challenger_answers import printable
        from campaigns.lifecycle.compare import TransientClassifierError

        left = self.ends_at - time.monotonic()
        overall = left <= self.batch_deadline
        if left <= 0:
            raise self._overdue(ServiceUnavailableError)
        abandoned = threading.Event()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["answers"] = self._post(forms, abandoned)
            except BaseException as err:  # handed to the caller's thread as it is
                outcome["error"] = err

        worker = threading.Thread(target=work, name="challenger-batch", daemon=True)
        worker.start()
        worker.join(min(left, self.batch_deadline))
        if worker.is_alive():
            abandoned.set()
            if overall:
                raise self._overdue(ServiceUnavailableError)
            raise TransientClassifierError(
                f"no complete answer from {printable(self.where)} within the batch deadline "
                f"({self.batch_deadline:g} s)"
            )
        if "error" in outcome:
            raise outcome["error"]
        return outcome["answers"]

    def _overdue(self, error: type[Exception]) -> Exception:
        from campaigns.lifecycle.challenger_answers import printable

        return error(
            f"The challenger API at {printable(self.where)} has not answered every batch "
            f"within the comparison's deadline ({self.deadline:g} s).",
            "Check the server (its /docs page), or raise --deadline "
            "(CAMPAIGNS_CHALLENGER_DEADLINE) for a slow one.",
        )

    def _post(self, forms: list[dict[str, Any]], abandoned: Any) -> list[dict[str, Any]]:
        import httpx

        from campaigns.errors import ConfigurationError, InputFormatError
        from campaigns.lifecycle.challenger_answers import printable
        from campaigns.lifecycle.compare import TransientClassifierError

        where = printable(self.where)
        try:
            with self.client.stream(
                "POST",
                self.path,
                params={"nb_echos_max": self.top, "prob_min": 0.0},
                json={"forms": forms},
            ) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    raise TransientClassifierError(f"HTTP {status} from {where}")
                if status in (401, 403):
                    raise ConfigurationError(
                        f"The challenger API at {where} refused the credentials (HTTP {status}).",
                        f"Give --api-user and the password in {PASSWORD_VARIABLE}.",
                    )
                body = self._capped_body(response, abandoned)
        except httpx.TransportError as err:
            raise TransientClassifierError(f"{type(err).__name__}: {err}") from err
        if status >= 400:
            text = body[:300].decode("utf-8", "replace")
            raise InputFormatError(
                f"The challenger API at {where} refused a batch (HTTP {status}): "
                f"{printable(text, 300)}",
                'Check that it serves the batch contract (POST /batch/predict, {"forms": [...]}).',
            )
        try:
            answers = json.loads(body)
        except (ValueError, RecursionError) as err:  # RecursionError: absurdly nested JSON
            raise InputFormatError(
                f"The challenger API at {where} answered no JSON.",
                "The batch contract answers a JSON list, one prediction per form.",
            ) from err
        if not isinstance(answers, list):
            raise InputFormatError(
                f"The challenger API at {where} answered {type(answers).__name__}, not a list.",
                "The batch contract answers one prediction object per form.",
            )
        return answers

    def _capped_body(self, response: Any, abandoned: Any) -> bytes:
        """The body, read chunk by chunk; refused past the cap, dropped once abandoned."""
        from campaigns.errors import InputFormatError
        from campaigns.lifecycle.challenger_answers import printable
        from campaigns.lifecycle.compare import TransientClassifierError

        too_big = InputFormatError(
            f"The challenger API at {printable(self.where)} answered more than "
            f"{self.max_body_bytes} bytes for one batch.",
            "Lower --batch-size, or raise CAMPAIGNS_CHALLENGER_MAX_BODY_BYTES if the server "
            "is right to answer that much.",
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise too_big
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            if abandoned.is_set():
                raise TransientClassifierError("abandoned past its deadline")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self.client.close()


def _pct(figure: dict[str, Any] | None, signed: bool = False) -> str:
    if not figure or figure.get("estimate") is None or math.isnan(figure["estimate"]):
        return "-"
    if signed:
        return f"{100 * figure['estimate']:+.1f} pts"
    return f"{figure['estimate']:.1%}"


def _interval(figure: dict[str, Any] | None, signed: bool = False) -> str:
    if not figure:
        return "-"
    low, high = figure.get("ci_low"), figure.get("ci_high")
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "-"
    if signed:
        return f"[{100 * low:+.1f}, {100 * high:+.1f}]"
    return f"[{low:.1%}, {high:.1%}]"


def _print_comparison(result: CampaignComparison) -> None:
    summary = result.comparison.summary
    champion = ", ".join(result.champion_versions) or "unknown"
    table = Table(
        Column("figure", no_wrap=True),
        "champion",
        "challenger",
        Column("challenger - champion", no_wrap=True),
        "95% interval",
        "verdict",
        title=f"Champion {escape(champion)} vs challenger {escape(result.challenger_version)} "
        f"on {summary['coded']} coded gold units (threshold {summary['threshold']:g})",
    )
    for name, diff in summary["differences"].items():
        table.add_row(
            name,
            _pct(summary["figures"]["champion"][name]),
            _pct(summary["figures"]["challenger"][name]),
            _pct(diff, signed=True),
            _interval(diff, signed=True),
            diff["verdict"],
        )
    context.console.print(table)
    disc = summary["discordant"]
    context.console.print(
        f"Discordant units: {disc['champion_only']} right by the champion only "
        f"({disc['champion_only_share']:.1%} of the traffic), {disc['challenger_only']} by the "
        f"challenger only ({disc['challenger_only_share']:.1%}). "
        f"Verdict on accuracy: [bold]{summary['verdict']}[/]."
    )
    notes = result.notes
    if notes.get("gold"):
        context.console.print(
            f"Gold: {notes['gold']} ({notes.get('units_left_out', 0)} assisted units left out)."
        )
    if notes.get("warning"):
        context.console.print(f"[yellow]{escape(notes['warning'])}[/]")
    if summary["challenger_missing"]:
        context.console.print(
            f"[yellow]{summary['challenger_missing']} gold units have no challenger prediction:"
            " counted as its errors.[/]"
        )
    unknown = notes.get("codes_not_in_nomenclature")
    if unknown:
        listed = ", ".join(f"{code} ({n})" for code, n in unknown["codes"].items())
        context.console.print(
            f"[yellow]{unknown['predictions']} challenger codes on {unknown['units']} units are "
            f"not in the nomenclature, counted as wrong answers: {escape(listed)}.[/]",
            highlight=False,
        )
    if notes.get("context_values_dropped"):
        context.console.print(
            f"{notes['context_values_dropped']} context values the batch contract refuses were "
            "sent as null."
        )


def compare(
    campaign_ref: context.CampaignArg,
    challenger: Annotated[
        str | None,
        typer.Option(
            help="Parquet of the challenger's predictions keyed by request_id (a local file, or "
            "a key on the storage root): predicted_codes (best first) or predicted_code; "
            "optional scores, confidence, model_version.",
        ),
    ] = None,
    challenger_api: Annotated[
        str | None,
        typer.Option(
            help="Base URL of a classifier serving the production API's batch contract "
            "(POST /batch/predict): the gold texts are posted to it.",
        ),
    ] = None,
    api_user: Annotated[
        str | None,
        typer.Option(help=f"HTTP basic user of --challenger-api (password: {PASSWORD_VARIABLE})."),
    ] = None,
    api_password: Annotated[
        str | None,
        typer.Option(envvar=PASSWORD_VARIABLE, hidden=True, show_default=False),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Texts per request to --challenger-api.")
    ] = 100,
    max_body_bytes: Annotated[
        int | None,
        typer.Option(
            min=1_000,
            help="Largest answer read for one batch of --challenger-api, in bytes "
            "(default: CAMPAIGNS_CHALLENGER_MAX_BODY_BYTES).",
        ),
    ] = None,
    batch_deadline: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Seconds --challenger-api has to answer one batch in all, retried past it "
            "(default: CAMPAIGNS_CHALLENGER_BATCH_DEADLINE).",
        ),
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Seconds --challenger-api has to answer every batch; past it the comparison "
            "stops (default: CAMPAIGNS_CHALLENGER_DEADLINE).",
        ),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Automatic-coding threshold.")
    ] = None,
    replicates: Annotated[int, typer.Option(min=2, help="Paired bootstrap replicates.")] = 1000,
    write: Annotated[
        bool,
        typer.Option(help="Write the comparison as Parquet for the dashboard."),
    ] = True,
    report: Annotated[
        Path | None,
        typer.Option(help="Also write the campaign's HTML report with the comparison in it."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Champion vs challenger on the campaign's gold standard, with paired 95% intervals.

    Both models' accuracy at every nomenclature level, top-k, automatic-coding rate and
    accuracy at the threshold, and the difference challenger - champion with a paired
    stratified-bootstrap interval; the verdict says which model is better when the interval
    excludes 0. The challenger's predictions come from --challenger (Parquet) or from
    --challenger-api (the production API's batch contract, texts posted in batches, retried).
    A randomized campaign is compared on its blind arm; gold made with the champion's
    suggestions shown is flagged (it favours the champion).

    Example: campaigns compare sept-gold --challenger challenger-3.0.parquet

    Example: campaigns compare sept-gold --challenger-api http://candidate:8000 --report c.html
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from campaigns.errors import InvalidArgumentError
    from campaigns.lifecycle.compare import classifier_source, compare_campaign, table_source
    from campaigns.model_registry.feedback import feed_comparison

    if (challenger is None) == (challenger_api is None):
        raise InvalidArgumentError(
            "Give the challenger as --challenger FILE or as --challenger-api URL (one of them)."
        )
    client: HttpClassifier | None = None
    with context.service() as service:
        campaign = service.campaign(campaign_ref)
        if challenger is not None:
            source = table_source(_read_parquet(service, challenger))
        else:
            assert challenger_api is not None
            client = HttpClassifier(
                challenger_api,
                user=api_user,
                password=api_password,
                max_body_bytes=max_body_bytes,
                batch_deadline=batch_deadline,
                deadline=deadline,
            )
            progress = Progress(
                "posting",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=context.err_console,
                transient=True,
            )
            bar = progress.add_task("post", total=None)
            source = classifier_source(
                client, batch_size=batch_size, on_batch=lambda n: progress.advance(bar, n)
            )
            progress.start()
        try:
            result = compare_campaign(
                service.session,
                service.storage,
                service.settings,
                campaign,
                source,
                threshold=threshold,
                replicates=replicates,
                write=write,
            )
        finally:
            if client is not None:
                progress.stop()
                client.close()
        if report is not None:
            _write_comparison_report(service, campaign, result, report, threshold)
        feedback = feed_comparison(
            service.settings, service.storage, service.session, campaign, result
        )
    if as_json:
        print(json.dumps(result.as_json(), indent=2, default=str))
        print_feedback(feedback, warnings_only=True)
        return
    _print_comparison(result)
    for name, uri in result.written.items():
        context.console.print(f"Wrote {name}: {escape(uri)}", highlight=False)
    if report is not None:
        context.console.print(f"Report written to {escape(str(report))}", highlight=False)
    print_feedback(feedback)


def _read_parquet(service: Any, ref: str) -> Any:
    """A local Parquet file, else a key (or URI) on the storage root."""
    if Path(ref).is_file():
        import pyarrow as pa
        import pyarrow.parquet as pq

        from campaigns.errors import InputFormatError

        try:
            return pq.read_table(ref)
        except pa.ArrowException as err:
            raise InputFormatError(
                f"Cannot read {ref} as Parquet: {str(err).splitlines()[0]}",
                "Give a Parquet file keyed by request_id.",
            ) from err
    return service.read_input(ref)


def _write_comparison_report(
    service: Any, campaign: Any, result: Any, out: Path, threshold: float | None
) -> None:
    from campaigns.lifecycle.metrics import campaign_metrics
    from campaigns.metrics.report import comparison_section, render_report

    metrics = campaign_metrics(
        service.session, service.storage, service.settings, campaign, threshold=threshold,
        write=False,
    )  # fmt: skip
    section = comparison_section(
        result.comparison,
        champion=", ".join(result.champion_versions) or "unknown",
        challenger=result.challenger_version,
        notes=result.notes,
    )
    page = render_report(
        metrics.metrics, title=f"Campaign {campaign.name}", extra_sections=[section]
    )
    out.write_text(page, encoding="utf-8")


TREND_HEADERS = ("period", "model", "accuracy", "95% interval", "n", "campaigns", "days")
DECORATIVE = ("days", "campaigns")
"""Dropped, in this order, when the terminal is too narrow for every figure whole."""


def _print_trend(result: TrendResult) -> None:
    """The accuracy rows as a table that never cuts a figure, however narrow the terminal
    (80 columns in cron mail): figures keep their width, a long model version folds onto
    more lines, the decorative columns go first when even that does not fit, and below that
    each row is one line the terminal wraps."""
    rows = [
        {
            "period": row["period"].isoformat(),
            "model": row["model_version"],
            "accuracy": _pct(row),
            "95% interval": _interval(row),
            "n": str(row["n"]),
            "campaigns": str(row["campaigns"]),
            "days": f"{row['days_covered']}/{row['days_in_period']}",
        }
        for row in result.table.to_pylist()
        if row["figure"] == "accuracy"
    ]
    widths = {h: max([len(h), *(len(r[h]) for r in rows)]) for h in TREND_HEADERS}
    shown = list(TREND_HEADERS)
    model_min = min(widths["model"], 12)

    def room_for_model() -> int:  # what the console leaves the model column (3 per border)
        others = sum(widths[h] for h in shown if h != "model")
        return context.console.width - others - 3 * len(shown) - 1

    for name in DECORATIVE:
        if room_for_model() >= model_min:
            break
        shown.remove(name)
    if room_for_model() < 4:  # not even a table of the figures fits: one line per row
        context.console.print(f"Accuracy by {result.period} of traffic: " + ", ".join(
            h for h in TREND_HEADERS if h != "days"), highlight=False)  # fmt: skip
        for row in rows:
            context.console.print(
                " ".join(escape(row[h]) for h in TREND_HEADERS if h != "days"), highlight=False
            )
        return
    table = Table(
        *(
            Column(h, overflow="fold", max_width=room_for_model())
            if h == "model"
            else Column(h, no_wrap=True, min_width=widths[h])
            for h in shown
        ),
        title=f"Accuracy by {result.period} of traffic"
        + (" (blind gold only)" if result.blind_only else ""),
    )
    for row in rows:
        table.add_row(*(escape(row[h]) for h in shown))
    context.console.print(table)
    if len(shown) < len(TREND_HEADERS):
        left_out = ", ".join(h for h in TREND_HEADERS if h not in shown)
        context.console.print(f"({left_out}: in --json and the Parquet table)")


def trend(
    period: Annotated[str, typer.Option(help="month or week (of the traffic's timestamp).")] = (
        "month"
    ),
    by_version: Annotated[
        bool, typer.Option(help="Also estimate each model version's accuracy.")
    ] = True,
    blind_only: Annotated[
        bool,
        typer.Option(
            help="Only gold the model could not bias: hidden campaigns and randomized "
            "campaigns' blind arm."
        ),
    ] = False,
    floor: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Exit code 1 when the latest period's accuracy is below it at its upper bound.",
        ),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Automatic-coding threshold.")
    ] = None,
    replicates: Annotated[int, typer.Option(min=2, help="Bootstrap replicates.")] = 1000,
    write: Annotated[bool, typer.Option(help="Write the table as Parquet (metrics/trend).")] = True,
    report: Annotated[Path | None, typer.Option(help="Write an HTML page with the plot.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Accuracy over time: every gold campaign's latest export, by month (or week) of
    traffic and by model version, with 95% intervals.

    Domain estimates with the design weights: each campaign is a probability sample of its
    window, a period's accuracy pools every unit that falls in it, and days sampled by
    several campaigns count once. Exit code 1 when the latest period's upper bound is below
    --floor (the accuracy is then below the floor with 97.5% confidence); 2 on error.

    Example: campaigns trend --floor 0.85 --report trend.html

    Example: campaigns trend --period week --blind-only --json
    """
    from campaigns.errors import InvalidArgumentError
    from campaigns.metrics.trend import PERIODS, campaign_trend
    from campaigns.model_registry.feedback import feed_trend

    if period not in PERIODS:
        raise InvalidArgumentError(f"Unknown period {period!r}.", "Use --period month or week.")
    with context.service() as service:
        result = campaign_trend(
            service.session,
            service.storage,
            service.settings,
            period=period,  # type: ignore[arg-type]
            by_version=by_version,
            blind_only=blind_only,
            floor=floor,
            threshold=threshold,
            replicates=replicates,
            write=write,
        )
    feedback = feed_trend(context.settings(), result)
    if report is not None:
        from campaigns.metrics.report import render_page, trend_section

        page = render_page(
            "Accuracy over time",
            [trend_section(result.table, floor=floor, include_plotlyjs=True)],
        )
        report.write_text(page, encoding="utf-8")
    if as_json:
        print(json.dumps(result.as_json(), indent=2, default=str))
    else:
        _print_trend(result)
        for uri in result.written.values():
            context.console.print(f"Wrote {escape(uri)}", highlight=False)
        if report is not None:
            context.console.print(f"Report written to {escape(str(report))}", highlight=False)
    print_feedback(feedback, warnings_only=as_json)
    if result.alert and result.latest is not None and floor is not None:
        latest = result.latest
        context.err_console.print(
            f"[bold red]ALERT[/] accuracy of {latest['period']} is {latest['estimate']:.1%} "
            f"[{latest['ci_low']:.1%}, {latest['ci_high']:.1%}]: below the floor {floor:.1%}.",
            highlight=False,
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(compare)
    app.command()(trend)
