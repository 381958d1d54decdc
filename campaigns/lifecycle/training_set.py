"""From a campaign's gold table to training rows, and the labels they contradict.

The experts' gold codes are the best labels the project has: ``training_rows`` turns the coded
units of an export into rows a retraining job can append to its training set (text, code,
design weight, provenance). ``label_conflicts`` matches them against an existing training set
on the normalised text (the ``text_norm`` of the traffic: upper-cased, accent-stripped,
whitespace-collapsed) and lists the texts whose training label differs from the gold code,
comparing codes whatever their format (``62.01Z`` = ``6201z`` = `` 62.01 Z``).

All the heavy work runs in DuckDB: a training set of millions of rows is joined, never looped
over in Python.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from campaigns.duck import connect, fetch_arrow
from campaigns.errors import (
    ConfigurationError,
    EmptySelectionError,
    InputFormatError,
    NotFoundError,
)
from campaigns.state.models import Campaign
from campaigns.storage import Storage

TRAINING_DIR = "training"
TRAINING_COLUMNS = ("text", "code")
GOLD_COLUMNS = ("request_id", "text", "status", "gold_code", "weight")

# The same normalisation as ``text_norm`` at ingestion (campaigns/traffic/ingest.py).
_TEXT_NORM_SQL = "upper(strip_accents(trim(regexp_replace({col}, '\\s+', ' ', 'g'))))"
# A code's comparison key: what nace_mapping.normalize_code ignores (spaces, dots, case) removed.
_CODE_KEY_SQL = "upper(regexp_replace({col}, '[\\s.]+', '', 'g'))"

_CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


def _text_norm(col: str) -> str:
    return _TEXT_NORM_SQL.format(col=col)


def _code_key(col: str) -> str:
    return _CODE_KEY_SQL.format(col=col)


def training_rows(gold: pa.Table, *, campaign_id: int, nomenclature_name: str) -> pa.Table:
    """The coded units of a gold table as training rows, one per request.

    Columns: ``text, code, weight, source_campaign, nomenclature, request_id``. Units that are
    not coded (cannot_code, skipped, invalid, disagreement) or have no gold code are left out.
    """
    missing = [c for c in GOLD_COLUMNS if c not in gold.column_names]
    if missing:
        raise ConfigurationError(
            f"The gold table lacks the column(s) {', '.join(missing)}.",
            f"Expected a campaign export's gold table; found: {', '.join(gold.column_names)}.",
        )
    with connect() as con:
        con.register("gold", gold.select(list(GOLD_COLUMNS)))
        return fetch_arrow(
            con,
            """
            SELECT text::VARCHAR AS text,
                   trim(gold_code::VARCHAR) AS code,
                   weight::DOUBLE AS weight,
                   $campaign_id::BIGINT AS source_campaign,
                   $nomenclature::VARCHAR AS nomenclature,
                   request_id::VARCHAR AS request_id
            FROM gold
            WHERE status = 'coded' AND gold_code IS NOT NULL AND trim(gold_code::VARCHAR) <> ''
            QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY gold_code) = 1
            ORDER BY request_id
            """,
            {"campaign_id": campaign_id, "nomenclature": nomenclature_name},
        )


def label_conflicts(rows: pa.Table, training_set: pa.Table) -> pa.Table:
    """Training-set labels that contradict a gold code for the same (normalised) text.

    ``rows`` are training rows (see :func:`training_rows`); ``training_set`` has ``text`` and
    ``code`` in any code format. One row per gold unit and differing training label:
    ``text, training_code, gold_code, weight, source_campaign, request_id``.
    """
    _check_training_columns(training_set.column_names, "the training set")
    with connect() as con:
        con.register("gold_rows", rows)
        con.register("training", training_set.select(list(TRAINING_COLUMNS)))
        return fetch_arrow(
            con,
            f"""
            WITH train AS (
                SELECT {_text_norm("text::VARCHAR")} AS text_norm,
                       {_code_key("code::VARCHAR")} AS code_key,
                       min(trim(code::VARCHAR)) AS training_code
                FROM training
                WHERE text IS NOT NULL AND code IS NOT NULL AND trim(code::VARCHAR) <> ''
                GROUP BY ALL
            ), gold AS (
                SELECT text, code AS gold_code, weight, source_campaign, request_id,
                       {_text_norm("text")} AS text_norm,
                       {_code_key("code")} AS code_key
                FROM gold_rows
                WHERE text IS NOT NULL AND code IS NOT NULL
            )
            SELECT g.text, t.training_code, g.gold_code, g.weight, g.source_campaign, g.request_id
            FROM gold g
            JOIN train t ON t.text_norm = g.text_norm AND t.text_norm <> ''
            WHERE t.code_key <> g.code_key
            ORDER BY g.request_id, t.code_key
            """,
        )


def read_training_set(path: str) -> pa.Table:
    """A training set (Parquet or CSV) as a table of ``text`` and ``code``, both strings."""
    if not os.path.exists(path):
        raise NotFoundError(
            f"No training set at {path!r}.", "Give the path of a Parquet or CSV file."
        )
    lower = path.lower()
    if os.path.isdir(path):
        source = f"read_parquet({_literal(os.path.join(path, '**', '*.parquet'))})"
    elif lower.endswith(_CSV_SUFFIXES):
        source = f"read_csv_auto({_literal(path)}, all_varchar = true, header = true)"
    elif lower.endswith(_PARQUET_SUFFIXES):
        source = f"read_parquet({_literal(path)})"
    else:
        raise InputFormatError(
            f"Cannot tell the format of {path!r}.",
            "Name the file *.parquet or *.csv (a folder is read as Parquet files).",
        )
    with connect() as con:
        try:
            columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        except duckdb.Error as err:
            raise InputFormatError(
                f"Cannot read the training set {path!r}: {str(err).splitlines()[0]}",
                "Give a readable Parquet file or a CSV file with a header line.",
            ) from err
        _check_training_columns(columns, path)
        return fetch_arrow(
            con, f"SELECT text::VARCHAR AS text, code::VARCHAR AS code FROM {source}"
        )


def _literal(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def _check_training_columns(columns: list[str], where: str) -> None:
    missing = [c for c in TRAINING_COLUMNS if c not in columns]
    if missing:
        raise InputFormatError(
            f"No column {', '.join(repr(c) for c in missing)} in {where}.",
            f"A training set needs the columns 'text' and 'code'; found: "
            f"{', '.join(columns) or 'none'}.",
        )


@dataclass
class TrainingExport:
    campaign_id: int
    version: str
    rows: int
    uri: str
    conflicts: int = 0
    conflicts_uri: str | None = None


def training_dir(campaign_id: int, version: str) -> str:
    return f"{TRAINING_DIR}/campaign={campaign_id}/export-{version}"


def export_training_set(
    storage: Storage,
    gold: pa.Table,
    campaign: Campaign,
    *,
    nomenclature_name: str,
    compare_with: str | None = None,
) -> TrainingExport:
    """Write the campaign's training rows and, given a training set, the labels they contradict.

    Files: ``training/campaign=<id>/export-<version>/training.parquet`` and, with
    ``compare_with``, ``conflicts.parquet`` beside it (``version`` is the campaign's last
    export, so the files say which gold they come from). The training set is read first: a bad
    path fails before anything is written.
    """
    if campaign.id is None or not campaign.last_export_version:
        raise EmptySelectionError(
            f"Campaign {campaign.id} has no export yet.",
            f"Run 'campaigns export {campaign.id}' first.",
        )
    training_set = read_training_set(compare_with) if compare_with else None
    rows = training_rows(gold, campaign_id=campaign.id, nomenclature_name=nomenclature_name)
    if rows.num_rows == 0:
        raise EmptySelectionError(
            f"Campaign {campaign.id} has no coded unit in its latest export.",
            "Wait for the experts to code units, then run 'campaigns export' again.",
        )
    folder = training_dir(campaign.id, campaign.last_export_version)
    result = TrainingExport(
        campaign_id=campaign.id,
        version=campaign.last_export_version,
        rows=rows.num_rows,
        uri=storage.write_table(rows, f"{folder}/training.parquet"),
    )
    if training_set is not None:
        conflicts = label_conflicts(rows, training_set)
        result.conflicts = conflicts.num_rows
        result.conflicts_uri = storage.write_table(conflicts, f"{folder}/conflicts.parquet")
    return result
