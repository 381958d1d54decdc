"""What goes to MLflow, as plain records (pure: no MLflow here).

One :class:`Evaluation` is one MLflow run: a gold campaign's figures for one model version
(``campaigns metrics``), a challenger's figures on that gold (``campaigns compare``), one
model version's accuracy over time (``campaigns trend``). Its ``key`` is a digest of what
identifies it (campaign, the gold table's digest, model version, threshold...): the client
finds a finished run with that key and logs nothing, so a second nightly run adds nothing. A
:class:`DatasetRecord` is a gold table or a training set as an MLflow dataset: its source
URI on the storage root, a digest of its content, its row count.

Every headline figure goes as three metrics: ``NAME``, ``NAME_ci_low``, ``NAME_ci_high``
(95% interval); a figure without a finite value is left out (MLflow would store NaN as a
number a reader could take for a result).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

# Tag names the client and the tests read.
KEY_TAG = "campaigns.key"
SCOPE_TAG = "campaigns.scope"
KIND_TAG = "campaigns.kind"
MODEL_VERSION_TAG = "model_version"
DATASET_CONTEXT_TAG = "mlflow.data.context"

# Figures a registered version is tagged with, by record kind (the first found wins).
HEADLINE = "accuracy"
_BOUNDS = (("", "estimate"), ("_ci_low", "ci_low"), ("_ci_high", "ci_high"))
# Version tags an evaluation may leave out (no interval on a tiny sample, no role for a
# champion): a newer evaluation removes those of an older one rather than leave them behind.
OPTIONAL_VERSION_TAGS = (
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "accuracy_95ci",
    "units",
    "role",
    "export_version",
)


@dataclass(frozen=True)
class DatasetRecord:
    """A table on the storage root as an MLflow dataset (name + digest identify it)."""

    name: str
    digest: str
    source_uri: str
    rows: int
    context: str
    campaigns: tuple[str, ...] = ()
    schema: pa.Schema | None = None

    @property
    def source_type(self) -> str:
        return "s3" if self.source_uri.startswith("s3://") else "local"

    def profile(self) -> dict[str, Any]:
        return {"num_rows": self.rows, "campaigns": list(self.campaigns)}

    def schema_json(self) -> str | None:
        if self.schema is None:
            return None
        columns = [{"name": f.name, "type": str(f.type)} for f in self.schema]
        return json.dumps({"arrow": columns})


@dataclass
class Evaluation:
    """One MLflow run: its identity, what it logs, and the tags of the version it evaluates."""

    kind: str
    key_parts: tuple[str, ...]
    # What the record is about whatever its data (campaign and model version, say): a run
    # of the same scope left unfinished by an interruption is replaced by the next one.
    scope_parts: tuple[str, ...]
    run_name: str
    model_version: str
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    dataset: DatasetRecord | None = None
    version_tags: dict[str, str] = field(default_factory=dict)
    version_tag_prefix: str = "gold"
    # (metric, value, step, timestamp in ms): a metric's history, e.g. accuracy per period.
    history: list[tuple[str, float, int, int]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return digest_of("\x1f".join((self.kind, *self.key_parts)), length=40)

    @property
    def scope(self) -> str:
        return digest_of("\x1f".join((self.kind, *self.scope_parts)), length=40)

    def run_tags(self) -> dict[str, str]:
        tags = {**self.tags, KEY_TAG: self.key, SCOPE_TAG: self.scope, KIND_TAG: self.kind}
        if self.model_version:
            tags[MODEL_VERSION_TAG] = self.model_version
        return tags


def digest_of(text: str | bytes, length: int = 16) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:length]


def table_digest(table: pa.Table) -> str:
    """A digest of a table's content (schema and rows, as Arrow IPC): same data, same digest."""
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return digest_of(sink.getvalue())


def figure_metrics(rows: Iterable[Mapping[str, Any]], prefix: str = "") -> dict[str, float]:
    """``{figure, estimate, ci_low, ci_high}`` rows -> metrics NAME, NAME_ci_low, NAME_ci_high."""
    metrics: dict[str, float] = {}
    for row in rows:
        name = f"{prefix}{row['figure']}"
        for suffix, column in _BOUNDS:
            value = row.get(column)
            if isinstance(value, int | float) and math.isfinite(value):
                metrics[name + suffix] = float(value)
    return metrics


def table_artifact(table: pa.Table) -> tuple[str, bytes]:
    """A table as a file the MLflow UI shows: CSV when flat, Parquet when it has lists."""
    flat = all(
        not (pa.types.is_nested(f.type) or pa.types.is_dictionary(f.type)) for f in table.schema
    )
    buffer = io.BytesIO()
    if flat:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, buffer)
        return "csv", buffer.getvalue()
    import pyarrow.parquet as pq

    pq.write_table(table, buffer)
    return "parquet", buffer.getvalue()


def version_tags(
    figure: Mapping[str, Any] | None, *, prefix: str, campaign: str, on: date, **extra: str
) -> dict[str, str]:
    """The tags a registered version gets: the figure with its bounds, campaign, date."""
    tags = {f"{prefix}_campaign": campaign, f"{prefix}_date": on.isoformat(), **extra}
    if not figure:
        return tags
    estimate, low, high = (figure.get(k) for k in ("estimate", "ci_low", "ci_high"))
    if not (isinstance(estimate, int | float) and math.isfinite(estimate)):
        return tags
    tags[f"{prefix}_accuracy"] = f"{estimate:.4f}"
    bounds = [v for v in (low, high) if isinstance(v, int | float) and math.isfinite(v)]
    if len(bounds) == 2:
        tags[f"{prefix}_accuracy_ci_low"] = f"{low:.4f}"
        tags[f"{prefix}_accuracy_ci_high"] = f"{high:.4f}"
        tags[f"{prefix}_accuracy_95ci"] = f"{estimate:.1%} [{low:.1%}, {high:.1%}]"
    if figure.get("n") is not None:
        tags[f"{prefix}_units"] = str(figure["n"])
    return tags


def _versions(gold: pa.Table) -> list[str]:
    if "model_version" not in gold.column_names:
        return ["unknown"]
    values = gold.column("model_version").fill_null("unknown").unique().to_pylist()
    return sorted(str(v) for v in values) or ["unknown"]


def gold_evaluations(
    *,
    campaign_id: int,
    campaign_name: str,
    export_version: str,
    computed_on: date,
    summary: Mapping[str, Any],
    proportions: pa.Table,
    threshold_curve: pa.Table,
    per_class: pa.Table,
    report_html: bytes | None,
    gold: pa.Table,
    gold_uri: str,
    params: Mapping[str, Any],
    domain_proportions: Mapping[str, pa.Table] | None = None,
) -> list[Evaluation]:
    """One evaluation per model version of a gold campaign's latest export.

    A campaign whose units all come from one version logs the campaign's figures. Units from
    several versions (a version changed during the window): each version's run logs the
    figures of its own units, ``domain_proportions[version]`` (domain estimates with the
    design weights), the curve, per-class table and report staying the campaign's.
    """
    versions = _versions(gold)
    dataset = DatasetRecord(
        name=f"gold-{campaign_name}",
        digest=table_digest(gold),
        source_uri=gold_uri,
        rows=gold.num_rows,
        context="evaluation",
        campaigns=(campaign_name,),
        schema=gold.schema,
    )
    artifacts: dict[str, bytes] = {}
    for name, table in (("threshold_curve", threshold_curve), ("per_class", per_class)):
        if table.num_columns:
            ext, data = table_artifact(table)
            artifacts[f"{name}.{ext}"] = data
    if report_html is not None:
        artifacts["report.html"] = report_html
    artifacts["summary.json"] = json.dumps(summary, indent=2, default=str).encode()
    common = {
        "campaign_id": str(campaign_id),
        "campaign": campaign_name,
        "export_version": export_version,
        **{k: str(v) for k, v in params.items() if v is not None},
    }
    evaluations = []
    for version in versions:
        figures = (
            proportions
            if len(versions) == 1 or not domain_proportions
            else domain_proportions[version]
        )
        rows = figures.to_pylist()
        headline = next((r for r in rows if r["figure"] == HEADLINE), None)
        evaluations.append(
            Evaluation(
                kind="gold-evaluation",
                # The gold's digest, not the export version: the nightly exports anew each
                # night, and a new export of unchanged gold is the same evaluation.
                key_parts=(str(campaign_id), dataset.digest, version, str(params.get("threshold"))),
                scope_parts=(str(campaign_id), version),
                run_name=f"gold {campaign_name} · {version}",
                model_version=version,
                metrics=figure_metrics(rows),
                params={
                    **common,
                    "scope": "campaign" if len(versions) == 1 else "model version domain",
                },
                tags={"campaign": campaign_name, "export_version": export_version},
                artifacts=artifacts,
                dataset=dataset,
                version_tags=version_tags(
                    headline,
                    prefix="gold",
                    campaign=campaign_name,
                    on=computed_on,
                    gold_export_version=export_version,
                ),
            )
        )
    return evaluations


def challenger_evaluation(
    *,
    campaign_id: int,
    campaign_name: str,
    export_version: str,
    computed_on: date,
    challenger_version: str,
    champion_versions: list[str],
    figures: pa.Table,
    summary: Mapping[str, Any],
    gold: pa.Table,
    gold_uri: str,
) -> Evaluation:
    """The challenger's run on a gold campaign: its own figures, and the paired differences."""
    rows = figures.to_pylist()
    own = [r for r in rows if r["model"] == "challenger"]
    champion = [r for r in rows if r["model"] == "champion"]
    differences = [r for r in rows if r["model"] == "difference"]
    headline = next((r for r in own if r["figure"] == f"{HEADLINE}_subclass"), None)
    ext, data = table_artifact(figures)
    dataset = DatasetRecord(
        name=f"gold-{campaign_name}",
        digest=table_digest(gold),
        source_uri=gold_uri,
        rows=gold.num_rows,
        context="evaluation",
        campaigns=(campaign_name,),
        schema=gold.schema,
    )
    return Evaluation(
        kind="challenger-evaluation",
        key_parts=(
            str(campaign_id),
            dataset.digest,
            challenger_version,
            str(summary.get("threshold")),
        ),
        scope_parts=(str(campaign_id), challenger_version),
        run_name=f"challenger {campaign_name} · {challenger_version}",
        model_version=challenger_version,
        metrics={
            **figure_metrics(own),
            **figure_metrics(champion, prefix="champion_"),
            **figure_metrics(differences, prefix="difference_"),
        },
        params={
            "campaign_id": str(campaign_id),
            "campaign": campaign_name,
            "export_version": export_version,
            "threshold": str(summary.get("threshold")),
            "champion_versions": ",".join(champion_versions) or "unknown",
            "replicates": str(summary.get("replicates")),
            "coded_units": str(summary.get("coded")),
            "verdict": str(summary.get("verdict")),
        },
        tags={"campaign": campaign_name, "export_version": export_version, "role": "challenger"},
        artifacts={
            f"comparison.{ext}": data,
            "comparison.json": json.dumps(summary, indent=2, default=str).encode(),
        },
        dataset=dataset,
        version_tags=version_tags(
            headline,
            prefix="gold",
            campaign=campaign_name,
            on=computed_on,
            gold_export_version=export_version,
            gold_role="challenger",
        ),
    )


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def trend_evaluations(
    *,
    table: pa.Table,
    period: str,
    blind_only: bool,
    campaigns: list[int],
    computed_on: date,
    all_versions: str = "all",
) -> list[Evaluation]:
    """One run per model version: its accuracy per period as a metric history (step = period).

    The key holds a digest of the version's rows, so a trend that did not change logs
    nothing, and one that did (a new campaign, a new period) logs a new run.
    """
    import pyarrow.compute as pc

    evaluations = []
    versions = sorted(v for v in table.column("model_version").unique().to_pylist() if v)
    for version in versions:
        if version == all_versions:
            continue
        rows = table.filter(pc.equal(table.column("model_version"), version)).sort_by("period")
        accuracy = [r for r in rows.to_pylist() if r["figure"] == HEADLINE]
        if not accuracy:
            continue
        history = []
        for step, row in enumerate(accuracy):
            for suffix, column in _BOUNDS:
                value = row[column]
                if value is not None and math.isfinite(value):
                    history.append((f"{HEADLINE}{suffix}", float(value), step, _ms(row["period"])))
        latest = accuracy[-1]
        ext, data = table_artifact(rows)
        scope = "blind" if blind_only else "all"
        evaluations.append(
            Evaluation(
                kind="trend",
                key_parts=(period, scope, version, table_digest(rows)),
                scope_parts=(period, scope, version),
                run_name=f"trend {period} · {version}",
                model_version=version,
                params={
                    "period": period,
                    "gold": "blind only" if blind_only else "all gold",
                    "campaigns": ",".join(str(c) for c in campaigns),
                    "periods": str(len(accuracy)),
                    "latest_period": latest["period"].isoformat(),
                },
                tags={"trend_period": period},
                artifacts={f"trend.{ext}": data},
                history=history,
                version_tag_prefix=f"gold_trend_{period}",
                version_tags=version_tags(
                    latest,
                    prefix=f"gold_trend_{period}",
                    campaign=",".join(str(c) for c in campaigns),
                    on=computed_on,
                ),
            )
        )
    return evaluations


def dataset_evaluation(
    record: DatasetRecord, *, kind: str, params: Mapping[str, Any]
) -> Evaluation:
    """A training set (or a transition dataset) registered as a dataset in a run of its own.

    A training run then logs the same dataset (same name and digest) as its input.
    """
    return Evaluation(
        kind=kind,
        key_parts=(record.name, record.digest),  # the same rows exported again: one dataset
        scope_parts=(record.name,),
        run_name=f"{kind} {record.name}",
        model_version="",
        params={
            "source_uri": record.source_uri,
            "digest": record.digest,
            "rows": str(record.rows),
            "campaigns": ",".join(record.campaigns),
            **{k: str(v) for k, v in params.items() if v is not None},
        },
        tags={"dataset_name": record.name, "dataset_digest": record.digest},
        dataset=record,
    )
