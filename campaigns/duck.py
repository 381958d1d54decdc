"""DuckDB helpers shared by every module that queries Arrow data."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection in UTC (days are UTC dates everywhere in the project)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def fetch_arrow(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> pa.Table:
    """Run ``sql`` and return its result as an Arrow table (DuckDB 1.x and 2.x alike)."""
    relation = con.sql(sql, params=params)
    if relation is None:  # a statement, not a query
        return pa.table({})
    if hasattr(relation, "to_arrow_table"):
        return relation.to_arrow_table()
    return relation.fetch_arrow_table()  # pragma: no cover - DuckDB < 2


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    rows = (con.execute(sql, params) if params is not None else con.execute(sql)).fetchall()
    return rows[0][0] if rows else None


def quote_identifier(name: str) -> str:
    """``name`` as a DuckDB identifier, whatever it holds (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a DuckDB string literal (single quotes doubled), for the few statements
    that take no parameters (COPY ... TO '<path>')."""
    return "'" + text.replace("'", "''") + "'"
