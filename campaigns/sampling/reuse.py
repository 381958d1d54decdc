"""Gold codes reused across campaigns, so the sampling frame stays the whole window.

Leaving out every unit whose request or normalised text was in an earlier campaign shrinks
the frame silently: after 750 annotated units it removed 5.9% of a 90-day window, and the
weights then describe "the window minus those texts", a biased population since frequent
texts are the easiest. Instead the frame is the whole window, and a drawn unit whose
normalised text, seen in the same context by the experts, already has a gold label (coded or
cannot be coded, from the latest export of an earlier gold campaign) reuses it: its
provenance is ``reused``, it is not sent to experts, and the metrics read it with the new
gold labels under the same design weights (correctness is still judged against the unit's own
prediction).

Reuse assumes the code is a property of the text and its context, and two rules keep that
assumption honest:

- **Unanimity.** The key is (normalised text, context), the context compared as a JSON object
  with its keys sorted (no context, or an empty one, equals no context). A key reuses a label
  only when every earlier gold label for it agrees (same status, same code); a key whose
  earlier labels differ, or whose experts tied (``disagreement``), goes to experts and is
  flagged ``earlier_gold_conflict``. Short generic texts ("DE", "FABRICATION") whose code the
  text does not determine are exactly those: breaking the tie by campaign and code gave 4
  wrong codes in 16 reused units on held-out traffic.
- **Measurement.** A seeded random share of the units that would reuse a label (at least one,
  ``CAMPAIGNS_REUSE_CHECK_SHARE``, 10% by default) is sent to experts anyway, provenance
  ``check``, keeping the label it would have reused in ``reused_gold_code``; the metrics
  compare it with the experts' code (:func:`campaigns.gold.reused.reuse_summary`). The check
  units are a simple random subsample of the reusable ones (ranked by
  ``md5(seed:reuse-check:request_id)``), so their agreement estimates that of the reused ones.

The old exclusion remains an explicit option of the design, and then the share of the window
it removed is reported with the sample (``samples/<id>.frame.parquet``).
"""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc

from campaigns.duck import connect, fetch_arrow
from campaigns.gold.reused import CHECK, CONFLICT, NEW, PROVENANCE, REUSED

DEFAULT_CHECK_SHARE = 0.1


def context_key_sql(column: str) -> str:
    """SQL for a context's comparison key: its entries sorted by key, NULL for none or ``{}``.

    Logs write a context's keys in any order; the experts saw the same thing either way.
    """
    as_map = f"TRY_CAST({column}::JSON AS MAP(VARCHAR, JSON))"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN {as_map} IS NULL THEN {column}::VARCHAR "
        f"WHEN cardinality({as_map}) = 0 THEN NULL "
        f"ELSE list_sort(map_entries({as_map}))::VARCHAR END"
    )


def check_count(reusable: int, share: float) -> int:
    """How many of ``reusable`` units go to experts as a check: ``ceil(share n)``, at least 1."""
    if reusable <= 0:
        return 0
    return min(reusable, max(1, math.ceil(share * reusable)))


def _context(table: pa.Table, alias: str) -> str:
    if "context" in table.column_names:
        return context_key_sql(f"{alias}.context")
    return "NULL::VARCHAR"


def mark_reused(
    sample: pa.Table,
    earlier: pa.Table,
    *,
    seed: int = 0,
    check_share: float = DEFAULT_CHECK_SHARE,
) -> pa.Table:
    """The sample with ``gold_provenance`` (``new`` / ``reused`` / ``check``), the reused label
    and ``earlier_gold_conflict`` (earlier gold labels of the same text and context differ).

    ``earlier`` holds ``text_norm``, ``context`` (optional), ``reused_gold_code``,
    ``reused_status`` and ``reused_from_campaign`` (:func:`campaigns.gold.store.earlier_gold`).
    """
    with connect() as con:
        con.register("sample_units", sample)
        con.register("earlier", earlier)
        labels = fetch_arrow(
            con,
            f"""WITH keyed AS (
                    SELECT text_norm, {_context(earlier, "e")} AS _ctx, reused_gold_code,
                           reused_status, reused_from_campaign
                    FROM earlier e)
                SELECT text_norm, _ctx,
                       count(DISTINCT (reused_status, coalesce(reused_gold_code, '')))
                           AS _labels,
                       bool_or(reused_status NOT IN ('coded', 'cannot_code')) AS _tied,
                       max(reused_gold_code) AS reused_gold_code,
                       max(reused_status) AS reused_status,
                       max(reused_from_campaign) AS reused_from_campaign
                FROM keyed GROUP BY text_norm, _ctx""",
        )
        con.register("labels", labels)
        marked = fetch_arrow(
            con,
            f"""WITH units AS (
                    SELECT *, {_context(sample, "s")} AS _ctx, row_number() OVER () AS _row
                    FROM sample_units s)
                SELECT u.* EXCLUDE (_ctx),
                       l._labels = 1 AND NOT l._tied AS _reusable,
                       coalesce(l._labels > 1 OR l._tied, false) AS {CONFLICT},
                       CASE WHEN _reusable THEN l.reused_gold_code END AS reused_gold_code,
                       CASE WHEN _reusable THEN l.reused_status END AS reused_status,
                       CASE WHEN _reusable THEN l.reused_from_campaign END
                           AS reused_from_campaign,
                       md5_number('{int(seed)}:reuse-check:' || u.request_id) AS _check_key
                FROM units u LEFT JOIN labels l
                  ON l.text_norm = u.text_norm AND l._ctx IS NOT DISTINCT FROM u._ctx
                ORDER BY u._row""",
        )
        reusable = int(pc.sum(marked.column("_reusable")).as_py() or 0)
        checks = check_count(reusable, check_share)
        con.register("marked", marked)
        return fetch_arrow(
            con,
            f"""SELECT * EXCLUDE (_reusable, _check_key, _rank, _row, reused_gold_code,
                                 reused_status, reused_from_campaign, {CONFLICT}),
                       CASE WHEN NOT coalesce(_reusable, false) THEN '{NEW}'
                            WHEN _rank <= {checks} THEN '{CHECK}'
                            ELSE '{REUSED}' END AS {PROVENANCE},
                       reused_gold_code, reused_status, reused_from_campaign, {CONFLICT}
                FROM (SELECT *, row_number() OVER (PARTITION BY coalesce(_reusable, false)
                                                   ORDER BY _check_key, request_id) AS _rank
                      FROM marked)
                ORDER BY _row""",
        )


def units_to_annotate(sample: pa.Table) -> pa.Table:
    """The units experts must code: all but those that reuse an earlier gold label (a
    ``check`` unit is coded by experts)."""
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
