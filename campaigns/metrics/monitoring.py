"""Checks of the model on recent traffic, and what they return: drift of a window against
the one before it (``campaigns drift``, ``POST /drift``), and the label-free accuracy of a
window beside a gold sample's (``campaigns estimate``). The statistics are in
:mod:`campaigns.traffic.drift` and :mod:`campaigns.metrics.label_free`; here they are run,
stored and given their JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from campaigns.config import Settings
from campaigns.errors import ConfigurationError, InvalidArgumentError
from campaigns.gold.store import latest_gold
from campaigns.metrics.dashboard import json_safe, write_drift
from campaigns.state import crud
from campaigns.state.models import Campaign
from campaigns.storage import Storage
from campaigns.traffic.window import Window

if TYPE_CHECKING:  # the statistics (scipy) are imported where they run
    import pyarrow as pa

    from campaigns.metrics.label_free import LabelFreeEstimate
    from campaigns.traffic.drift import DriftResult

SPARSE_WARNING = 0.10
"""Share of traffic scores in the reference's sparse tails above which the label-free figure
extrapolates (see ``campaigns.metrics.label_free``): both faces warn beyond it."""


def _window_json(window: Window) -> dict[str, str]:
    """A window as JSON: ``end`` excluded, as in the drift tables."""
    return {"start": window.start.isoformat(), "end": window.end.isoformat()}


@dataclass
class DriftCheck:
    """A drift comparison (``campaigns drift``, ``POST /drift``) and where it was stored."""

    result: DriftResult
    uri: str | None = None
    accuracy_checked: bool = False

    def as_json(self) -> dict[str, Any]:
        """What the drift job returns: both windows, every report, the alerts."""
        r = self.result
        return json_safe(
            {
                "window": _window_json(r.b),
                "baseline": _window_json(r.a),
                "reports": [report.as_dict() for report in r.reports],
                "skipped_groups": r.skipped_groups,
                "alerts": r.alerts,
                "accuracy_checked": self.accuracy_checked,
                "stored": self.uri,
            }
        )


@dataclass
class AccuracyCheck:
    """The label-free accuracy of a window beside a gold sample's (``campaigns estimate``).

    ``comparison`` is :func:`campaigns.metrics.label_free.compare_with_gold`'s; ``reference``
    and ``gold`` name the campaigns that calibrated the scores and gave the gold figure.
    """

    label_free: LabelFreeEstimate
    comparison: dict[str, Any]
    reference: str
    gold: str
    gold_window: Window

    @property
    def same_window(self) -> bool:
        """Whether the gold sample was drawn from the window estimated (a drift check)."""
        return self.label_free.window is None or self.label_free.window == self.gold_window

    @property
    def extrapolates(self) -> bool:
        """Too many traffic scores where the reference has hardly any unit."""
        return self.label_free.sparse_share > SPARSE_WARNING

    def as_json(self) -> dict[str, Any]:
        """What the estimate job returns: both estimates, their gap and the warnings' flags."""
        window = self.label_free.window
        return json_safe(
            {
                "reference_campaign": self.reference,
                "gold_campaign": self.gold,
                "window": _window_json(window) if window else None,
                "gold_window": _window_json(self.gold_window),
                "label_free": {k: v for k, v in self.label_free.as_dict().items() if k != "window"},
                "gold": self.comparison["gold"],
                "gap": self.comparison["gap"],
                "diverged": self.comparison["diverged"],
                "same_window": self.same_window,
                "extrapolates": self.extrapolates,
            }
        )


def check_drift(
    storage: Storage,
    sections: pa.Table,
    window: Window,
    *,
    baseline_days: int | None = None,
    psi_max: float = 0.2,
    accuracy_min: float | None = None,
    accuracy: float | None = None,
    min_count: int | None = None,
    write: bool = True,
) -> DriftCheck:
    """Compare ``window`` with the ``baseline_days`` days right before it (default: as many).

    Alerts on any PSI above ``psi_max``, and on ``accuracy`` below ``accuracy_min`` (checked
    only when both are given). ``min_count`` (default: the core's) is the fewest requests a
    section needs in each window for its own report. With ``write`` the reports are stored
    under ``metrics/drift``, dated today.
    """
    from campaigns.traffic.drift import DEFAULT_MIN_COUNT, drift_between
    from campaigns.traffic.drift_statistics import AlertRule

    length = baseline_days or (window.end - window.start).days
    baseline = Window.last_days(length, window.start - timedelta(days=1))
    try:
        rule = AlertRule(psi_max=psi_max, accuracy_min=accuracy_min)
    except ValueError as err:
        raise InvalidArgumentError(str(err), "Check --psi-max and --accuracy-min.") from err
    result = drift_between(
        storage,
        baseline,
        window,
        sections,
        rule=rule,
        accuracy=accuracy,
        min_count=DEFAULT_MIN_COUNT if min_count is None else min_count,
    )
    uri = write_drift(storage, result, datetime.now(UTC).date()) if write else None
    checked = accuracy_min is not None and accuracy is not None
    return DriftCheck(result, uri, accuracy_checked=checked)


def check_accuracy(
    session: Session,
    storage: Storage,
    settings: Settings,
    reference: Campaign,
    gold: Campaign,
    window: Window,
    *,
    replicates: int = 200,
    max_rows: int | None = None,
) -> AccuracyCheck:
    """Label-free accuracy of the window's traffic, beside a gold sample's accuracy.

    The top-1 score is calibrated on ``reference``'s latest gold export; the gold figure is
    ``gold``'s (the reference itself, often). ``max_rows`` averages over a reproducible random
    subsample of the window's requests.
    """
    from campaigns.metrics.headline import metrics_json
    from campaigns.metrics.label_free import (
        compare_with_gold,
        estimate_accuracy_label_free,
        traffic_scores,
    )

    reference_gold = latest_gold(storage, reference, session)
    gold_sample = crud.get_sample(session, gold.sample_id)
    gold_table = reference_gold if gold.id == reference.id else latest_gold(storage, gold, session)
    scores = traffic_scores(storage, window, max_rows=max_rows)
    try:
        label_free = estimate_accuracy_label_free(
            reference_gold, scores, replicates=replicates, window=window
        )
    except ValueError as err:
        raise ConfigurationError(
            f"Cannot calibrate on campaign {reference.name!r}: {err}.",
            "Export its annotations again ('campaigns export') once experts have coded units.",
        ) from err
    gold_figure = metrics_json(
        gold_table, threshold=settings.auto_coding_threshold, design=gold_sample.design
    )["accuracy"]
    return AccuracyCheck(
        label_free=label_free,
        comparison=compare_with_gold(label_free, gold_figure),
        reference=reference.name,
        gold=gold.name,
        gold_window=Window(gold_sample.window_start, gold_sample.window_end),
    )
