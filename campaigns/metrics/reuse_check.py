"""How often a reused gold label agrees with a fresh expert code, with its interval.

The ``check`` units of a sample (:mod:`campaigns.sampling.reuse`) could have reused an earlier
gold label but went to experts; their gold table keeps the label they would have reused
(``reused_gold_code``, ``reused_status``). Agreement is the design-weighted share of those
units, once coded by experts (coded or cannot be coded; skipped and tied units say nothing),
whose reused label equals the experts' (a code, or "cannot be coded" on both sides). The check
units are a simple random subsample of the reusable ones, so their design weights carry over;
the interval is the score interval (:func:`campaigns.metrics.binomial.score_interval`, Wilson
with Jeffreys' bound on a sparse side) on Kish's effective number of units, since a check is
small and agreement near 1.

Compared with the campaign's inter-annotator agreement (the share of expert pairs that agree
on a task): if a reused label agrees with a fresh expert less often than two experts agree
with each other, the label is not a property of the text and its context, and the reused
units bias the figures; the metrics warn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from campaigns.gold.reused import CHECK, PROVENANCE
from campaigns.metrics.binomial import score_interval

_EXPERT_STATUSES = ("coded", "cannot_code")


def _label(status: pa.ChunkedArray, code: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.if_else(pc.equal(status, "coded"), code, pc.if_else(pc.is_null(status), None, status))


def reuse_check_agreement(gold: pa.Table, inter_annotator: float | None = None) -> dict[str, Any]:
    """Agreement of the reused label with the experts' code on the ``check`` units.

    ``inter_annotator`` is the campaign's percent agreement between experts; the result's
    ``below_inter_annotator`` is True when the agreement is below it.
    """
    empty: dict[str, Any] = {
        "checked": 0,
        "agreeing": 0,
        "agreement": None,
        "ci_low": None,
        "ci_high": None,
        "inter_annotator_agreement": inter_annotator,
        "below_inter_annotator": False,
    }
    needed = {PROVENANCE, "reused_gold_code", "reused_status", "status", "gold_code"}
    if gold.num_rows == 0 or not needed <= set(gold.column_names):
        return empty
    checks = gold.filter(
        pc.and_(
            pc.equal(gold.column(PROVENANCE), CHECK).fill_null(False),
            pc.is_in(gold.column("status"), pa.array(_EXPERT_STATUSES)).fill_null(False),
        )
    )
    if checks.num_rows == 0:
        return empty
    expert = _label(checks.column("status"), checks.column("gold_code"))
    reused = _label(checks.column("reused_status"), checks.column("reused_gold_code"))
    agrees = pc.equal(expert, reused).fill_null(False).to_numpy(zero_copy_only=False)
    if "weight" in checks.column_names:
        weights = checks.column("weight").to_numpy(zero_copy_only=False).astype(np.float64)
    else:
        weights = np.ones(checks.num_rows)
    total = float(weights.sum())
    p = float(weights[agrees].sum() / total) if total > 0 else float(np.mean(agrees))
    n_eff = total * total / float((weights * weights).sum()) if total > 0 else checks.num_rows
    low, high = score_interval([p], [n_eff])
    return {
        "checked": checks.num_rows,
        "agreeing": int(agrees.sum()),
        "agreement": p,
        "ci_low": float(low[0]),
        "ci_high": float(high[0]),
        "inter_annotator_agreement": inter_annotator,
        "below_inter_annotator": inter_annotator is not None and p < inter_annotator,
    }
