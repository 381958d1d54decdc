"""Gold labels reused across campaigns: the provenance column and the tables it shapes.

A drawn unit whose normalised text and context already have one unanimous gold label reuses
it (``gold_provenance`` ``reused``, see :mod:`campaigns.sampling.reuse` for why the frame stays
the whole window and when a label is reused): the gold store adds those units to a campaign's
gold (:func:`with_reused_gold`), and the metrics report their share, the units sent to
experts because earlier labels conflicted, and the ``check`` units, coded by experts although
they could have reused a label (:func:`reuse_summary`). Tables in, tables out: nothing here
reads storage.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

PROVENANCE = "gold_provenance"
NEW = "new"
REUSED = "reused"
CHECK = "check"
"""A unit that could have reused a label, sent to experts to measure reuse."""
CONFLICT = "earlier_gold_conflict"
"""True for a unit whose text and context had disagreeing earlier gold labels."""
REUSABLE_STATUSES = ("coded", "cannot_code")
_COLUMNS = ("reused_gold_code", "reused_status", "reused_from_campaign")


def with_reused_gold(gold: pa.Table, sample: pa.Table, campaign_id: int) -> pa.Table:
    """The export's gold rows plus one row per reused unit (``n_annotations`` 0), labelled."""
    if PROVENANCE not in sample.column_names:
        return gold
    reused = sample.filter(pc.equal(sample.column(PROVENANCE), REUSED))
    if gold.num_rows:  # a unit annotated after all keeps its experts' label
        annotated = pc.is_in(reused.column("request_id"), value_set=gold.column("request_id"))
        reused = reused.filter(pc.invert(annotated))
    if reused.num_rows == 0:
        return gold
    rows = reused.drop_columns([c for c in _COLUMNS if c in reused.column_names])
    rows = rows.append_column("n_annotations", pa.array([0] * rows.num_rows, pa.int64()))
    rows = rows.append_column("status", reused.column("reused_status"))
    rows = rows.append_column("gold_code", reused.column("reused_gold_code"))
    rows = rows.append_column("campaign_id", pa.array([campaign_id] * rows.num_rows, pa.int64()))
    if gold.num_rows == 0:
        return rows
    return pa.concat_tables(
        [gold, rows.select([c for c in gold.column_names if c in rows.column_names])],
        promote_options="default",
    )


def _count(table: pa.Table | None, column: str, value: object) -> int:
    if table is None or column not in table.column_names:
        return 0
    return int(pc.sum(pc.equal(table.column(column), value).fill_null(False)).as_py() or 0)


def reuse_summary(gold: pa.Table, sample: pa.Table | None = None) -> dict[str, float | int]:
    """Units whose gold label was reused: their count, share of units and of the weight; the
    drawn units sent to experts because earlier labels conflicted (``conflicts``) and those
    sent as a check of reuse (``check_units``), counted in ``sample`` (every drawn unit) when
    given, else in the gold."""
    drawn = sample if sample is not None else gold
    counts = {
        "conflicts": _count(drawn, CONFLICT, True),
        "check_units": _count(drawn, PROVENANCE, CHECK),
    }
    if gold.num_rows == 0 or PROVENANCE not in gold.column_names:
        return {"units": 0, "share_of_units": 0.0, "weighted_share": 0.0, **counts}
    reused = pc.equal(gold.column(PROVENANCE), REUSED).fill_null(False)
    units = int(pc.sum(reused).as_py() or 0)
    weight = gold.column("weight") if "weight" in gold.column_names else None
    weighted = 0.0
    if weight is not None:
        total = pc.sum(weight).as_py() or 0.0
        weighted = (pc.sum(pc.if_else(reused, weight, 0.0)).as_py() or 0.0) / total if total else 0
    return {
        "units": units,
        "share_of_units": units / gold.num_rows,
        "weighted_share": float(weighted),
        **counts,
    }
