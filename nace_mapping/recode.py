"""Recoding (text, old code) rows to the new nomenclature, inside DuckDB.

Univocal rows get their new code; multivocal rows form the experts' queue with their
candidate list; rows whose code is malformed or absent from the correspondence are
quarantined with the reason. No row is dropped: the three outputs partition the input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from nace_mapping.codes import SQL_NORMALIZE_SUBCLASS, SQL_SUBCLASS_PATTERN
from nace_mapping.correspondence import Correspondence


@dataclass
class RecodeResult:
    univocal: pa.Table
    multivocal: pa.Table
    quarantine: pa.Table
    summary: dict[str, object] = field(default_factory=dict)


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    relation = con.sql(sql)
    return relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()


def recode_table(
    table: pa.Table, correspondence: Correspondence, code_column: str = "code"
) -> RecodeResult:
    """Split ``table`` by its old code: univocal (+ new_code), multivocal (+ candidates), bad."""
    if code_column not in table.column_names:
        raise KeyError(f"No column {code_column!r} (columns: {table.column_names}).")
    con = duckdb.connect()
    con.register("input_rows", table)
    con.register("pairs", correspondence.pairs_table())
    col = f'"{code_column}"'
    norm = SQL_NORMALIZE_SUBCLASS.format(col=f"CAST({col} AS VARCHAR)")
    con.execute(f"""
        CREATE TEMP TABLE coded AS
        SELECT * REPLACE ({norm} AS {col}), CAST({col} AS VARCHAR) AS _raw_code,
               row_number() OVER () AS _row
        FROM input_rows""")
    con.execute("""
        CREATE TEMP TABLE targets AS
        SELECT old_code, list(new_code ORDER BY new_code) AS candidates
        FROM pairs GROUP BY old_code""")
    univocal = _arrow(
        con,
        f"""
        SELECT c.* EXCLUDE (_raw_code, _row), t.candidates[1] AS new_code
        FROM coded c JOIN targets t ON c.{col} = t.old_code
        WHERE len(t.candidates) = 1 ORDER BY c._row""",
    )
    multivocal = _arrow(
        con,
        f"""
        SELECT c.* EXCLUDE (_raw_code, _row), t.candidates, len(t.candidates) AS n_candidates
        FROM coded c JOIN targets t ON c.{col} = t.old_code
        WHERE len(t.candidates) > 1 ORDER BY c._row""",
    )
    quarantine = _arrow(
        con,
        f"""
        SELECT c.* EXCLUDE (_raw_code, _row) REPLACE (c._raw_code AS {col}),
               CASE WHEN c.{col} IS NULL THEN 'missing code'
                    WHEN NOT regexp_matches(c.{col}, '{SQL_SUBCLASS_PATTERN}')
                        THEN 'invalid code syntax'
                    ELSE 'unknown to the correspondence' END AS reason
        FROM coded c ANTI JOIN targets t ON c.{col} = t.old_code ORDER BY c._row""",
    )
    reasons = _reason_counts(quarantine)
    summary: dict[str, object] = {
        "rows": table.num_rows,
        "univocal": univocal.num_rows,
        "multivocal": multivocal.num_rows,
        "quarantined": quarantine.num_rows,
        "quarantine_reasons": reasons,
    }
    con.close()
    return RecodeResult(univocal, multivocal, quarantine, summary)


def _reason_counts(quarantine: pa.Table) -> dict[str, int]:
    if quarantine.num_rows == 0:
        return {}
    counts = quarantine.column("reason").value_counts()
    return dict(
        zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
    )


def recode_parquet(
    in_path: str | Path,
    out_dir: str | Path,
    correspondence: Correspondence,
    code_column: str = "code",
) -> dict[str, object]:
    """Recode a Parquet file; write univocal, multivocal_queue and quarantine Parquet files."""
    result = recode_table(pq.read_table(in_path), correspondence, code_column)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, part in (
        ("univocal", result.univocal),
        ("multivocal_queue", result.multivocal),
        ("quarantine", result.quarantine),
    ):
        tmp = out / f".{name}.parquet.tmp"
        pq.write_table(part, tmp)
        os.replace(tmp, out / f"{name}.parquet")
    return result.summary | {"out_dir": str(out)}
