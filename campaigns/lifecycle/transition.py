"""The NACE Rev.2 -> Rev.2.1 transition campaign: recode what is univocal, ask experts the rest.

``prepare_transition`` recodes an input table of (text, old code) rows: univocal rows get their
new code automatically; multivocal rows form the experts' queue, of which a simple random
sample (reproducible md5 order) becomes the campaign's sample, each unit weighted by the
inverse of its inclusion probability. ``transition_split`` then estimates, for each old code,
the share of each candidate new code with a Wilson 95% interval: what back-casting the old
training set to Rev.2.1 needs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
from sqlmodel import Session

from campaigns.duck import connect, fetch_arrow, quote_identifier
from campaigns.errors import EmptySelectionError, InputFormatError
from campaigns.metrics.headline import wilson
from campaigns.sampling.designs import draw_simple_random_sample
from campaigns.state.models import Sample
from campaigns.storage import Storage, sample_key
from nace_mapping import Correspondence, recode_table

TRANSITION_DIR = "transition"


@dataclass
class TransitionPlan:
    sample: Sample
    rows: int
    univocal: int
    multivocal: int
    quarantined: int
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    univocal_uri: str = ""
    queue_uri: str = ""


def _with_request_ids(table: pa.Table, text_column: str, code_column: str) -> pa.Table:
    missing = {text_column, code_column} - set(table.column_names)
    if missing:
        raise InputFormatError(
            f"The input has no column {', '.join(sorted(missing))} "
            f"(it has: {', '.join(table.column_names)}).",
            "Name them with --text-column and --code-column.",
        )
    text_q, code_q = quote_identifier(text_column), quote_identifier(code_column)
    with connect() as con:
        con.register("input", table)
        rid = (
            "request_id" if "request_id" in table.column_names else "'row-' || row_number() OVER ()"
        )
        return fetch_arrow(
            con,
            f"SELECT {rid} AS request_id, {text_q} AS text, {code_q} AS code, "
            f"* EXCLUDE ({text_q}, {code_q}"
            + (', "request_id")' if "request_id" in table.column_names else ")")
            + " FROM input",
        )


def prepare_transition(
    session: Session,
    storage: Storage,
    correspondence: Correspondence,
    table: pa.Table,
    *,
    name: str,
    size: int,
    seed: int = 0,
    text_column: str = "text",
    code_column: str = "code",
) -> TransitionPlan:
    """Recode ``table``, store the automatic part and the queue, draw the experts' sample."""
    rows = _with_request_ids(table, text_column, code_column)
    result = recode_table(rows, correspondence, code_column="code")
    folder = f"{TRANSITION_DIR}/{name}"
    univocal_uri = storage.write_table(result.univocal, f"{folder}/univocal.parquet")
    queue_uri = storage.write_table(result.multivocal, f"{folder}/multivocal_queue.parquet")
    if result.quarantine.num_rows:
        storage.write_table(result.quarantine, f"{folder}/quarantine.parquet")
    if result.multivocal.num_rows == 0:
        raise EmptySelectionError(
            "No row has a multivocal code: there is nothing for experts to decide.",
            f"The {result.univocal.num_rows} univocal rows are recoded in {univocal_uri}.",
        )
    with connect() as con:
        con.register(
            "queue",
            result.multivocal.rename_columns(
                {c: ("old_code" if c == "code" else c) for c in result.multivocal.column_names}
            ),
        )
        drawn = draw_simple_random_sample(con, "queue", n=size, seed=seed)
        params = {"size": size, "source_rows": rows.num_rows, "kind": "transition", "name": name}
        digest = hashlib.sha1(json.dumps(params | {"seed": seed}, sort_keys=True).encode())
        sample_id = f"transition-{digest.hexdigest()[:10]}"
        sample_table = (
            drawn.table.drop_columns(["stratum"])
            .append_column("stratum", drawn.table.column("old_code"))
            .append_column("sample_id", pa.array([sample_id] * drawn.table.num_rows))
        )
        uri = storage.write_table(sample_table, sample_key(sample_id))
        today = datetime.now(UTC).date()
        sample = session.get(Sample, sample_id) or Sample(
            id=sample_id,
            window_start=today,
            window_end=today,
            design="srs",
            design_params=json.dumps(params),
            seed=seed,
            population_size=drawn.population_size,
            sample_size=drawn.sample_size,
            uri=uri,
        )
        session.add(sample)
        session.commit()
        session.refresh(sample)
        reasons = (
            result.summary.get("quarantine_reasons", {}) if isinstance(result.summary, dict) else {}
        )
        return TransitionPlan(
            sample=sample,
            rows=rows.num_rows,
            univocal=result.univocal.num_rows,
            multivocal=result.multivocal.num_rows,
            quarantined=result.quarantine.num_rows,
            quarantine_reasons=dict(reasons),
            univocal_uri=univocal_uri,
            queue_uri=queue_uri,
        )


def transition_split(gold: pa.Table) -> pa.Table:
    """For each old code, the weighted share of each new code chosen, with Wilson intervals.

    Only tasks whose experts agreed on a code count ("none of these", skipped and invalid are
    reported by the export, not spread over the candidates).
    """
    with connect() as con:
        con.register("gold", gold)
        shares = fetch_arrow(
            con,
            """
            SELECT old_code, gold_code AS new_code,
                   count(*) AS n, sum(weight) AS weighted_n,
                   (sum(count(*)) OVER (PARTITION BY old_code))::BIGINT AS n_old,
                   sum(weight) / sum(sum(weight)) OVER (PARTITION BY old_code) AS share
            FROM gold WHERE status = 'coded'
            GROUP BY old_code, gold_code ORDER BY old_code, share DESC, new_code
        """,
        )
        bounds = [
            wilson(n, n_old)
            for n, n_old in zip(
                shares.column("n").to_pylist(), shares.column("n_old").to_pylist(), strict=True
            )
        ]
        return shares.append_column("ci_low", pa.array([b[0] for b in bounds])).append_column(
            "ci_high", pa.array([b[1] for b in bounds])
        )
