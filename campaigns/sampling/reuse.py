"""Gold codes reused across campaigns, so the sampling frame stays the whole window.

Leaving out every unit whose request or normalised text was in an earlier campaign shrinks
the frame silently: after 750 annotated units it removed 5.9% of a 90-day window, and the
weights then describe "the window minus those texts", a biased population since frequent
texts are the easiest. Instead the frame is the whole window, and a drawn unit whose
normalised text already has a gold label (coded or cannot be coded, from the latest export
of an earlier gold campaign) reuses it: its provenance is ``reused``, it is not sent to
experts, and the metrics read it with the new gold labels under the same design weights
(correctness is still judged against the unit's own prediction). The gold label is taken as
a property of the text; when earlier campaigns disagree on a text, the latest campaign's
label wins. The old exclusion remains an explicit option of the design, and then the share
of the window it removed is reported with the sample (``samples/<id>.frame.parquet``).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session, select

from campaigns.duck import connect, fetch_arrow
from campaigns.errors import EmptySelectionError
from campaigns.state.models import Campaign, CampaignKind
from campaigns.storage import Storage

PROVENANCE = "gold_provenance"
NEW = "new"
REUSED = "reused"
REUSABLE_STATUSES = ("coded", "cannot_code")
_COLUMNS = ("reused_gold_code", "reused_status", "reused_from_campaign")
_EARLIER = pa.schema(
    [
        ("text_norm", pa.string()),
        ("reused_gold_code", pa.string()),
        ("reused_status", pa.string()),
        ("reused_from_campaign", pa.int64()),
    ]
)


def earlier_gold(session: Session, storage: Storage) -> pa.Table:
    """``text_norm`` and its gold label from the latest export of every gold campaign."""
    from campaigns.lifecycle.export import latest_gold  # lifecycle reads samples: import late

    parts = []
    campaigns = session.exec(
        select(Campaign).where(Campaign.kind == CampaignKind.GOLD, Campaign.parent_id.is_(None))
    ).all()
    for campaign in campaigns:
        try:
            gold = latest_gold(storage, campaign, session)
        except EmptySelectionError:  # no export yet: nothing to reuse from it
            continue
        if "text_norm" not in gold.column_names or gold.num_rows == 0:
            continue
        if PROVENANCE in gold.column_names:  # labels reused there came from elsewhere
            gold = gold.filter(pc.invert(pc.equal(gold[PROVENANCE], REUSED).fill_null(False)))
        parts.append(
            pa.table(
                [
                    gold.column("text_norm"),
                    gold.column("gold_code"),
                    gold.column("status"),
                    pa.array([campaign.id] * gold.num_rows, pa.int64()),
                ],
                names=_EARLIER.names,
            ).cast(_EARLIER)
        )
    if not parts:
        return _EARLIER.empty_table()
    table = pa.concat_tables(parts)
    statuses = pa.array(REUSABLE_STATUSES)
    return table.filter(
        pc.and_(pc.is_in(table.column("reused_status"), statuses), pc.is_valid(table["text_norm"]))
    )


def mark_reused(sample: pa.Table, earlier: pa.Table) -> pa.Table:
    """The sample with ``gold_provenance`` (``new`` / ``reused``) and the reused label."""
    with connect() as con:
        con.register("sample_units", sample)
        con.register("earlier", earlier)
        return fetch_arrow(
            con,
            f"""WITH labels AS (
                    SELECT text_norm, reused_gold_code, reused_status, reused_from_campaign
                    FROM earlier
                    QUALIFY row_number() OVER (PARTITION BY text_norm
                        ORDER BY reused_from_campaign DESC, reused_gold_code) = 1),
                units AS (SELECT *, row_number() OVER () AS _row FROM sample_units)
                SELECT u.* EXCLUDE (_row),
                       CASE WHEN l.reused_status IS NULL THEN '{NEW}' ELSE '{REUSED}' END
                           AS {PROVENANCE},
                       l.reused_gold_code, l.reused_status, l.reused_from_campaign
                FROM units u LEFT JOIN labels l ON l.text_norm = u.text_norm
                ORDER BY u._row""",
        )


def units_to_annotate(sample: pa.Table) -> pa.Table:
    """The units experts must code: all but those that reuse an earlier gold label."""
    if PROVENANCE not in sample.column_names:
        return sample
    return sample.filter(pc.not_equal(sample.column(PROVENANCE), REUSED))


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


def reuse_summary(gold: pa.Table) -> dict[str, float | int]:
    """Units whose gold label was reused: their count, share of units and of the weight."""
    if gold.num_rows == 0 or PROVENANCE not in gold.column_names:
        return {"units": 0, "share_of_units": 0.0, "weighted_share": 0.0}
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
    }


def frame_table(
    *, window_requests: int, frame_requests: int, reused_units: int, sample_units: int
) -> pa.Table:
    """What the sample's frame kept of the window: stored beside the sample."""
    excluded = window_requests - frame_requests
    return pa.table(
        {
            "window_requests": [window_requests],
            "frame_requests": [frame_requests],
            "excluded_requests": [excluded],
            "excluded_share": [excluded / window_requests if window_requests else 0.0],
            "reused_units": [reused_units],
            "reused_share_of_sample": [reused_units / sample_units if sample_units else 0.0],
        }
    )
