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

from nace_mapping.codes import SQL_NORMALIZE_SUBCLASS, SQL_SUBCLASS_PATTERN
from nace_mapping.correspondence import Correspondence
from nace_mapping.errors import MissingColumnError


@dataclass
class RecodeResult:
    univocal: pa.Table
    multivocal: pa.Table
    quarantine: pa.Table
    summary: dict[str, object] = field(default_factory=dict)


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    relation = con.sql(sql)
    return relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()


_PARTS = ("univocal", "multivocal_queue", "quarantine")


def _recode_in_duckdb(
    con: duckdb.DuckDBPyConnection, source: str, correspondence: Correspondence, code_column: str
) -> None:
    """Create the views univocal, multivocal_queue and quarantine over ``source``."""
    con.register("pairs", correspondence.pairs_table())
    col = f'"{code_column}"'
    norm = SQL_NORMALIZE_SUBCLASS.format(col=f"CAST({col} AS VARCHAR)")
    con.execute(f"""
        CREATE TEMP TABLE coded AS
        SELECT * REPLACE ({norm} AS {col}), CAST({col} AS VARCHAR) AS _raw_code,
               row_number() OVER () AS _row
        FROM {source}""")
    con.execute("""
        CREATE TEMP TABLE targets AS
        SELECT old_code, list(new_code ORDER BY new_code) AS candidates
        FROM pairs GROUP BY old_code""")
    con.execute(f"""
        CREATE TEMP VIEW univocal AS
        SELECT c.* EXCLUDE (_raw_code, _row), t.candidates[1] AS new_code
        FROM coded c JOIN targets t ON c.{col} = t.old_code
        WHERE len(t.candidates) = 1 ORDER BY c._row""")
    con.execute(f"""
        CREATE TEMP VIEW multivocal_queue AS
        SELECT c.* EXCLUDE (_raw_code, _row), t.candidates, len(t.candidates) AS n_candidates
        FROM coded c JOIN targets t ON c.{col} = t.old_code
        WHERE len(t.candidates) > 1 ORDER BY c._row""")
    con.execute(f"""
        CREATE TEMP VIEW quarantine AS
        SELECT c.* EXCLUDE (_raw_code, _row) REPLACE (c._raw_code AS {col}),
               CASE WHEN c.{col} IS NULL THEN 'missing code'
                    WHEN NOT regexp_matches(c.{col}, '{SQL_SUBCLASS_PATTERN}')
                        THEN 'invalid code syntax'
                    ELSE 'unknown to the correspondence' END AS reason
        FROM coded c ANTI JOIN targets t ON c.{col} = t.old_code ORDER BY c._row""")


def _summary(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    counts = {part: con.execute(f"SELECT count(*) FROM {part}").fetchall()[0][0] for part in _PARTS}
    reasons = dict(
        con.execute(
            "SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
    )
    return {
        "rows": sum(counts.values()),
        "univocal": counts["univocal"],
        "multivocal": counts["multivocal_queue"],
        "quarantined": counts["quarantine"],
        "quarantine_reasons": reasons,
    }


def recode_table(
    table: pa.Table, correspondence: Correspondence, code_column: str = "code"
) -> RecodeResult:
    """Split ``table`` by its old code: univocal (+ new_code), multivocal (+ candidates), bad."""
    if code_column not in table.column_names:
        raise MissingColumnError(f"No column {code_column!r} (columns: {table.column_names}).")
    con = duckdb.connect()
    con.register("input_rows", table)
    _recode_in_duckdb(con, "input_rows", correspondence, code_column)
    result = RecodeResult(
        _arrow(con, "SELECT * FROM univocal"),
        _arrow(con, "SELECT * FROM multivocal_queue"),
        _arrow(con, "SELECT * FROM quarantine"),
        _summary(con),
    )
    con.close()
    return result


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
    """Recode a Parquet file; write univocal, multivocal_queue and quarantine Parquet files.

    DuckDB reads and writes the files itself (no Arrow round trip); each output is written
    under a temporary name and renamed, so a reader never sees a half-written file.
    """
    source = Path(in_path)
    con = duckdb.connect()
    columns = [
        r[0]
        for r in con.execute(
            "SELECT name FROM parquet_schema(?) WHERE name <> 'schema'", [str(source)]
        ).fetchall()
    ]
    if code_column not in columns:
        raise MissingColumnError(f"No column {code_column!r} in {source} (columns: {columns}).")
    escaped = str(source).replace("'", "''")
    _recode_in_duckdb(con, f"read_parquet('{escaped}')", correspondence, code_column)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for part in _PARTS:
        tmp = out / f".{part}.parquet.tmp"
        con.execute(f"COPY (SELECT * FROM {part}) TO '{tmp}' (FORMAT PARQUET)")
        os.replace(tmp, out / f"{part}.parquet")
    summary = _summary(con)
    con.close()
    return summary | {"out_dir": str(out)}
