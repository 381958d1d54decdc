"""When to stop annotating: the headline accuracy's interval against the campaign's target.

A gold campaign is annotated until the 95% interval of its headline accuracy is as narrow as
planned. From the latest export (no Label Studio call: progress stays cheap), the interval is
the plain stratified one ``campaigns metrics`` reports beside its headline (design-based score
interval on the effective sample size, ``campaigns.metrics.intervals``): the calibrated
headline would need a pass over the window's traffic, and is at most a few percent narrower,
so the rule errs on the side of more annotations. Its half-width ``h = (high - low) / 2``,
computed on the ``n`` coded units done so far, shrinks as ``1 / sqrt(n)`` at a fixed design, so

    n_needed = ceil(n * (h / target)^2)

coded units reach the target (units with no code, "cannot be coded" or skipped, do not count,
so the tasks left are the units left over the share of annotated tasks that got a code). The
design effect is in it: ``h`` is the design's own
half-width (weights, strata, clustering of duplicates), not the binomial one; the implied
design effect ``n / n_eff``, with ``n_eff = z^2 p (1 - p) / h^2``, is reported beside it.
Tasks left become annotations left at the campaign's annotations per task, and days left at
the current pace: annotations created over the last ``PACE_DAYS`` days (their timestamps in
the export) divided by ``PACE_DAYS``. The estimate leans on the current point estimate and on
the remaining units resembling those done (tasks are served in the sample's random order, so
they do); it is a guide for planning work, not a sequential test.

The target is the one given now (``--margin``), else the margin stored with the campaign's
sample (``campaigns sample --margin``, the margin of its plan), else the ``target_margin``
setting (``CAMPAIGNS_TARGET_MARGIN``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from campaigns.sampling.planning import Z95

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_TARGET_MARGIN = 0.02
"""Target half-width when none is given, stored or set (the setting's default)."""

PACE_DAYS = 7


def target_margin(
    design_params: str | None, given: float | None, default: float = DEFAULT_TARGET_MARGIN
) -> tuple[float, str]:
    """The target half-width and where it comes from: ``option`` (given now), ``planning``
    (stored with the sample) or ``default`` (the ``target_margin`` setting)."""
    if given is not None:
        return float(given), "option"
    try:
        params = json.loads(design_params or "{}")
    except json.JSONDecodeError:
        params = {}
    stored = params.get("target_margin") if isinstance(params, dict) else None
    if isinstance(stored, int | float) and 0 < stored < 1:
        return float(stored), "planning"
    return default, "default"


def units_needed(units_done: int, half_width: float, target: float) -> int:
    """``ceil(n * (h / target)^2)``: coded units for the half-width to reach ``target``."""
    if units_done <= 0 or not math.isfinite(half_width):
        raise ValueError("no unit done yet: no half-width to scale")
    # Rounded first: 100 * (0.03 / 0.02)^2 is 225.00000000000003 in floating point.
    return math.ceil(round(units_done * (half_width / target) ** 2, 6))


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:  # an unreadable timestamp does not count toward the pace
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def annotation_pace(annotations: pa.Table, now: datetime, days: int = PACE_DAYS) -> float:
    """Annotations per day created over the ``days`` days before ``now``."""
    column = next((c for c in ("created_at", "updated_at") if c in annotations.column_names), None)
    if column is None:
        return 0.0
    since = now - timedelta(days=days)
    recent = 0
    for value in annotations.column(column).to_pylist():
        moment = _timestamp(value)
        if moment is not None and since <= moment <= now:
            recent += 1
    return recent / days


@dataclass(frozen=True)
class StopEstimate:
    """The headline accuracy's half-width against the target, and the work left to reach it."""

    accuracy: float
    ci_low: float
    ci_high: float
    half_width: float
    target_margin: float
    margin_source: str
    units_done: int
    units_needed: int
    units_left: int
    tasks_annotated: int
    tasks_left: int
    sample_size: int
    design_effect: float
    annotations_per_task: int
    annotations_left: int
    pace_per_day: float
    days_left: float | None
    export_version: str | None

    @property
    def reached(self) -> bool:
        return self.half_width <= self.target_margin

    @property
    def beyond_sample(self) -> bool:
        """More tasks needed than the sample holds: only a larger sample reaches the target."""
        return self.tasks_annotated + self.tasks_left > self.sample_size

    def as_json(self) -> dict[str, Any]:
        from campaigns.metrics.dashboard import json_safe

        return json_safe(
            asdict(self) | {"reached": self.reached, "beyond_sample": self.beyond_sample}
        )


def stop_estimate(
    accuracy: dict[str, Any],
    annotations: pa.Table,
    *,
    target: float,
    margin_source: str,
    tasks_annotated: int,
    sample_size: int,
    annotations_per_task: int,
    now: datetime,
    export_version: str | None = None,
) -> StopEstimate:
    """The stop rule from the headline ``accuracy`` figure (``metrics_json``'s), the number of
    tasks with a gold row and the export's annotations (for the pace).

    Raises ``ValueError`` when no unit is coded yet.
    """
    done = int(accuracy.get("n") or 0)
    if done <= 0:
        raise ValueError("no coded unit yet: no interval to scale")
    estimate, low, high = (float(accuracy[k]) for k in ("estimate", "ci_low", "ci_high"))
    half = (high - low) / 2
    needed = units_needed(done, half, target)
    left = max(0, needed - done)
    per_task = max(1, int(annotations_per_task))
    coded_share = done / tasks_annotated if tasks_annotated > 0 else 1.0
    tasks_left = math.ceil(round(left / coded_share, 6)) if left else 0
    annotations_left = tasks_left * per_task
    pace = annotation_pace(annotations, now)
    if annotations_left == 0:
        days: float | None = 0.0
    else:
        days = annotations_left / pace if pace > 0 else None
    n_eff = Z95 * Z95 * estimate * (1 - estimate) / (half * half) if half > 0 else math.nan
    return StopEstimate(
        accuracy=estimate,
        ci_low=low,
        ci_high=high,
        half_width=half,
        target_margin=target,
        margin_source=margin_source,
        units_done=done,
        units_needed=needed,
        units_left=left,
        tasks_annotated=int(tasks_annotated),
        tasks_left=tasks_left,
        sample_size=int(sample_size),
        design_effect=done / n_eff if n_eff > 0 else math.nan,
        annotations_per_task=per_task,
        annotations_left=annotations_left,
        pace_per_day=pace,
        days_left=days,
        export_version=export_version,
    )
