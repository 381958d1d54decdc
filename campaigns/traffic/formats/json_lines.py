"""The JSON-lines log format (one object per line, see :mod:`campaigns.traffic.schema`), and
what every line format is: a :data:`LineParser`, SQL over the lines of step 1 of
:mod:`campaigns.traffic.ingest`."""

from __future__ import annotations

import json
from collections.abc import Callable

from campaigns.traffic.schema import KNOWN_FIELDS

LineParser = Callable[[str], str]
"""A log line format: ``parser(relation)`` returns a SELECT over ``relation``.

``relation`` holds the non-blank lines: ``line_no``, ``line_bytes``, ``raw`` (BLOB, the line
ending included) and ``line`` (``raw`` as VARCHAR; NULL when not UTF-8 or longer than the
maximum: such lines are quarantined whatever the parser says). The SELECT keeps those columns
and adds, typed as below, the log's fields (NULL when absent) and ``format_reason``, why the
line cannot be read in this format (NULL when it can). The rules every format shares
(required fields, timestamp range, codes, scores, blank text) come after, in
:mod:`campaigns.traffic.rules`, with the normalisation and the writing.

    format_reason VARCHAR, request_id VARCHAR, ts_raw VARCHAR, ts TIMESTAMPTZ, text VARCHAR,
    context VARCHAR (a JSON object), predictions STRUCT(code VARCHAR, score DOUBLE)[],
    model_name VARCHAR, model_version VARCHAR, extra VARCHAR (a JSON object, or NULL)

Optionally ``logged_confidence DOUBLE``: the confidence index the model logged itself (kept
as ``confidence`` instead of the gap between the two best scores; it must lie in [0, 1]). A
``format_reason`` equal to :data:`NOT_A_RECORD` means the line is no prediction at all (a
startup message in an application log): it is counted in ``skipped_lines``, not quarantined.
"""

NOT_A_RECORD = "not a prediction record"

# The fields' values in one parse. json_transform is lenient (a number becomes a string, "0.9"
# or true a double), so the fields whose JSON type matters come out as JSON text where that is
# cheap: request_id (short: a string starts with a quote, an integer must fit 64 bits) and the
# scores (a number is what parses as one). A text is asked its type (json_type) only when its
# lenient value could come from something else than a string: it starts like a number, an
# array or an object, or reads true/false, NaN, Infinity. (Measured: a regular expression or
# a substring test over whole lines, to spot the same cases, costs more than the JSON text.)
_JSON_SPEC = json.dumps(
    {
        "request_id": "JSON",
        "timestamp": "VARCHAR",
        "text": "VARCHAR",
        "context": "JSON",
        "predictions": [{"code": "VARCHAR", "score": "JSON"}],
        "model_name": "VARCHAR",
        "model_version": "VARCHAR",
    }
)
_NOT_NUMBERS = "['VARCHAR', 'BOOLEAN', 'NULL', 'ARRAY', 'OBJECT']"
_NULL_PATCH = json.dumps(dict.fromkeys(KNOWN_FIELDS))
_NOT_TEXT_START = "['-', '+', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '[', '{']"


def json_lines_parser(relation: str) -> str:
    """One JSON object per line (the format documented in :mod:`campaigns.traffic.schema`).

    One parse of each line for the values (``json_transform``, the type-revealing fields as
    JSON text) and one ``json_keys`` to know whether the line holds fields to keep in
    ``extra`` (the costly ``json_merge_patch`` runs only then). Diagnostics (is it JSON at
    all? an object? a text that may not be a string? a null score?) run only for the lines
    that need them.
    """
    return f"""
    SELECT * EXCLUDE (j, parsed, rid_json, score_json),
        CASE
            WHEN NOT parsed THEN
                CASE WHEN json_valid(line) THEN 'not a JSON object' ELSE 'invalid JSON' END
            WHEN rid_json IS NULL AND text IS NULL AND predictions IS NULL
                 AND json_type(line) <> 'OBJECT' THEN 'not a JSON object'
            WHEN request_id IS NULL AND rid_json <> 'null' THEN 'request_id is not a string'
            WHEN (list_contains({_NOT_TEXT_START}, left(text, 1))
                  OR (list_contains(['t', 'f', 'N', 'I', 'n', 'i'], left(text, 1))
                      AND (text IN ('true', 'false') OR TRY_CAST(text AS DOUBLE) IS NOT NULL)))
                 AND json_type(line, '$.text') <> 'VARCHAR' THEN 'text is not a string'
            WHEN left(context, 1) <> '{{' THEN 'context is not an object'
            WHEN predictions IS NULL AND json_exists(line, '$.predictions')
                 AND json_type(line, '$.predictions') <> 'NULL'
                THEN 'predictions must be a non-empty list of {{code, score}}'
            WHEN list_count([p.score FOR p IN predictions]) < list_count(score_json)
                 OR (list_count(score_json) < len(predictions) AND list_has_any(
                        json_type(line, '$.predictions[*].score'), {_NOT_NUMBERS}))
                THEN 'prediction score is not a JSON number'
        END AS format_reason,
        TRY_CAST(ts_raw AS TIMESTAMPTZ) AS ts,
        -- known fields are 4 required + the optional ones given: more keys = extra fields
        CASE WHEN parsed AND len(json_keys(line)) > 4 + (context IS NOT NULL)::INT
                  + (model_name IS NOT NULL)::INT + (model_version IS NOT NULL)::INT
             THEN nullif(json_merge_patch(line, '{_NULL_PATCH}')::VARCHAR, '{{}}') END AS extra
    FROM (
        SELECT *,
            -- a JSON string (sliced: the JSON writer escapes only what needs it) or integer
            CASE WHEN left(rid_json, 1) = '"' THEN
                     CASE WHEN contains(rid_json, '\\') THEN rid_json ->> '$'
                          ELSE rid_json[2:-2] END
                 WHEN regexp_full_match(rid_json, '-?[0-9]+') AND TRY_CAST(rid_json AS HUGEINT)
                      BETWEEN -9223372036854775808 AND 18446744073709551615 THEN rid_json
            END AS request_id,
            [{{'code': p.code, 'score': TRY_CAST(p.score::VARCHAR AS DOUBLE)}}
             FOR p IN j.predictions] AS predictions,
            [p.score::VARCHAR FOR p IN j.predictions] AS score_json
        FROM (
            SELECT *, j IS NOT NULL AS parsed,
                j.request_id::VARCHAR AS rid_json, j."timestamp" AS ts_raw, j.text AS text,
                j.context::VARCHAR AS context, j.model_name AS model_name,
                j.model_version AS model_version
            FROM (
                SELECT *, TRY(json_transform(line, '{_JSON_SPEC}')) AS j FROM {relation}
            )
        )
    )
    """
