"""The prediction-log line format and the traffic table it becomes.

A log line is one JSON object (extra fields are kept, in ``extra``)::

    {"request_id": "9f1c...", "timestamp": "2026-09-01T12:34:56Z",
     "text": "MACONNERIE GENERALE",
     "context": {"cj": "5499", "activ_nat_et": "14", "evenement_type": "05P", ...},
     "predictions": [{"code": "4399C", "score": 0.93}, {"code": "4120A", "score": 0.03}],
     "model_name": "fasttext-ape", "model_version": "2.1.0"}

Required: ``request_id`` (non-empty string), ``timestamp`` (ISO 8601; no zone means UTC),
``text`` (non-empty), ``predictions`` (non-empty list of ``{code, score}``, best first, scores
in [0, 1], codes NACE-like such as ``43.99C`` or ``4399C``). Optional: ``context`` (object),
``model_name``, ``model_version``.

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
        ("line", pa.string()),
    ]
)
