"""The prediction-log line format and the traffic table it becomes.

A log line is one JSON object (extra fields are kept, in ``extra``)::

    {"request_id": "9f1c...", "timestamp": "2026-09-01T12:34:56Z",
     "text": "MACONNERIE GENERALE",
     "context": {"cj": "5499", "activ_nat_et": "14", "evenement_type": "05P", ...},
     "predictions": [{"code": "4399C", "score": 0.93}, {"code": "4120A", "score": 0.03}],
     "model_name": "fasttext-ape", "model_version": "2.1.0"}

Required: ``request_id`` (non-empty string; an integer is accepted), ``timestamp`` (ISO 8601,
years 1 to 9999; no zone means UTC), ``text`` (non-empty string), ``predictions`` (non-empty
list of ``{code, score}``: scores are JSON numbers in [0, 1] — ``"0.9"`` or ``true`` is
refused —, codes NACE-like such as ``43.99C`` or ``4399C``). Optional: ``context`` (object),
``model_name``, ``model_version``.

Predictions may come in any order: ingest sorts them by score, descending (ties keep their
logged order), so ``predicted_code`` is the best one and the confidence index
``top1 - top2`` is never negative. A format whose lines carry the model's own confidence index
(the production API's ``IC``, a mapped ``confidence`` field) keeps that index as
``confidence`` instead (it must lie in [0, 1]): it is the figure the API compared with the
automatic-coding threshold.

Other formats (the API's Python-logging lines, any JSON-lines or Parquet shape through a
field mapping) are read into the same table: see :mod:`campaigns.traffic.formats`.

A line is what lies between two ``\n`` (a ``\r\n`` ending is fine); it must be UTF-8 and at most
``ingest_max_line_bytes`` long. Any line breaking a rule is quarantined with its reason, never
the whole file. A ``request_id`` seen again with other content is a conflict: the first
version is kept, the other recorded beside it (``CONFLICT_SCHEMA``).

The traffic table is hive-partitioned by ``day`` (UTC date of ``timestamp``).
"""

from __future__ import annotations

import pyarrow as pa

REQUIRED_FIELDS = ("request_id", "timestamp", "text", "predictions")
KNOWN_FIELDS = (*REQUIRED_FIELDS, "context", "model_name", "model_version")

# Subclass-like code: 2 digits, optional dot, 2 digits, optional letter (NAF suffix).
CODE_PATTERN = r"^[0-9]{2}\.?[0-9]{2}[A-Za-z]?$"

TRAFFIC_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        # md5_number_lower(request_id): the unit's fixed random base, so sampling ranks units
        # by an integer XOR instead of hashing ten million strings per draw.
        ("request_hash", pa.uint64()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("text", pa.string()),
        ("text_norm", pa.string()),
        ("context", pa.string()),
        ("predicted_codes", pa.list_(pa.string())),
        ("scores", pa.list_(pa.float64())),
        ("predicted_code", pa.string()),
        ("score", pa.float64()),
        ("confidence", pa.float64()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("extra", pa.string()),
        ("source_file", pa.string()),
        ("line_no", pa.int64()),
    ]
)

PARTITION_SCHEMA = pa.schema([("day", pa.date32())])

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("line_no", pa.int64()),
        ("reason", pa.string()),
        # The line as logged. Too long or not UTF-8: its first 4 KiB only, non-UTF-8 bytes
        # escaped as \xNN (so the bytes can be told apart from text).
        ("line", pa.string()),
        ("line_bytes", pa.int64()),  # the whole line's length in bytes (without its newline)
    ]
)

# One row per version of a request that was not kept because another version of the same
# request_id came first (earlier in the file, or already stored): both versions side by side,
# as JSON of their normalised fields, with where each was logged.
CONFLICT_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("kept_source_file", pa.string()),
        ("kept_line_no", pa.int64()),
        ("kept_version", pa.string()),
        ("source_file", pa.string()),
        ("line_no", pa.int64()),
        ("version", pa.string()),
    ]
)
