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

from campaigns.duck import connect, fetch_arrow
from campaigns.gold.reused import NEW, PROVENANCE, REUSED


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
