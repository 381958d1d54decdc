"""From annotations to one gold label per task, and the gold table metrics read.

Gold rule (explicit, reported with every export): among a task's annotations, the status with
most votes wins (coded, cannot_code, skipped, invalid); for coded tasks, the code with a strict
majority of the coded votes is the gold code, and a tie sends the task to the adjudication list
(status ``disagreement``) instead of guessing.
"""

from __future__ import annotations

import pyarrow as pa

from campaigns.duck import connect, fetch_arrow

GOLD_RULE = "majority of annotations; ties -> adjudication list (status 'disagreement')"


def resolve_gold(annotations: pa.Table, sample: pa.Table) -> pa.Table:
    """The sample rows that have at least one annotation, with ``gold_code`` and ``status``."""
    with connect() as con:
        con.register("ann", annotations)
        con.register("sample", sample)
        return fetch_arrow(
            con,
            """
            WITH status_votes AS (
                SELECT request_id, status, count(*) AS votes,
                       max(updated_at) AS last_update
                FROM ann GROUP BY request_id, status
            ), top_status AS (
                SELECT request_id, status, votes FROM status_votes
                QUALIFY row_number() OVER (PARTITION BY request_id
                                           ORDER BY votes DESC, last_update DESC) = 1
            ), code_votes AS (
                SELECT request_id, code, count(*) AS votes
                FROM ann WHERE status = 'coded' GROUP BY request_id, code
            ), ranked_codes AS (
                SELECT request_id, code, votes,
                       row_number() OVER (PARTITION BY request_id ORDER BY votes DESC, code) AS r,
                       count(*) FILTER (WHERE true) OVER (PARTITION BY request_id) AS n_codes,
                       lead(votes) OVER (PARTITION BY request_id ORDER BY votes DESC, code)
                           AS runner_up
                FROM code_votes
            ), per_task AS (
                SELECT a.request_id,
                       count(*) AS n_annotations,
                       list(DISTINCT a.annotator ORDER BY a.annotator) AS annotators
                FROM ann a GROUP BY a.request_id
            )
            SELECT s.*,
                   p.n_annotations,
                   CASE WHEN t.status = 'coded' AND c.runner_up = c.votes THEN 'disagreement'
                        ELSE t.status END AS status,
                   CASE WHEN t.status = 'coded' AND coalesce(c.runner_up, 0) < c.votes
                        THEN c.code END AS gold_code
            FROM per_task p
            JOIN top_status t USING (request_id)
            LEFT JOIN ranked_codes c ON c.request_id = p.request_id AND c.r = 1
            JOIN sample s ON s.request_id = p.request_id
            ORDER BY s.request_id
            """,
        )
