"""The rules every log format shares (step 3 of :mod:`campaigns.traffic.ingest`).

One SQL statement over a parser's output: the first failing rule is a line's quarantine reason
(required fields, timestamp range, codes, scores, blank text, the line's own size and
encoding); valid rows are normalised (dotted codes, predictions sorted by score, the
confidence index, the normalised text, the day partition) into one table, ``checked``, that
the quarantine, the duplicate detection and the writing read.
"""

from __future__ import annotations

from campaigns.traffic.formats.json_lines import LineParser
from campaigns.traffic.lines import QUARANTINE_PREFIX_BYTES
from campaigns.traffic.schema import CODE_PATTERN

# Codes are checked all at once per line, one regex over "c1,c2,..." (5x cheaper than one per
# code). The usual spellings get a cheap path: "4399C" (undotted, upper case) and "43.99C".
_CODE = CODE_PATTERN.removeprefix("^").removesuffix("$")
_CODES_ANY = f" *{_CODE} *(?:, *{_CODE} *)*"
_CODES_UNDOTTED = "[0-9]{4}[A-Z]?(?:,[0-9]{4}[A-Z]?)*"
_CODES_DOTTED = r"[0-9]{2}\.[0-9]{2}[A-Z]?(?:,[0-9]{2}\.[0-9]{2}[A-Z]?)*"
# The range a timestamp must fall in: years 1-9999, what ISO 8601 dates and Python hold (a
# day partition of year 20000 or 1 BC, or "infinity", would break every reader downstream).
_TS_MIN = "TIMESTAMPTZ '0001-01-01 00:00:00+00'"
_TS_MAX = "TIMESTAMPTZ '10000-01-01 00:00:00+00'"
# Whitespace other than single inner spaces: only such texts pay for the regex that folds it.
_ODD_SPACE = (
    "contains(text, '  ') OR starts_with(text, ' ') OR ends_with(text, ' ') OR "
    + " OR ".join(f"contains(text, chr({c}))" for c in (9, 10, 11, 12, 13))
)

# The lines a parser sees: decoded when valid UTF-8 and not too long, blank lines left out
# (counted, not quarantined). Only a line the reader saw starting blank pays for the trim.
_SOURCE_SQL = """(
    SELECT * EXCLUDE (maybe_blank) FROM (
        SELECT line_no, line_bytes, raw, maybe_blank,
            CASE WHEN line_bytes <= {max_line_bytes} THEN TRY(decode(raw)) END AS line
        FROM raw_lines
    )
    WHERE NOT maybe_blank OR line IS NULL OR trim(line, E' \\t\\r\\n') <> ''
)"""

# One CASE per rule, in order: the first failing rule is the quarantine reason. Each step is
# a CTE so that DuckDB computes every intermediate list once.
_CHECK_SQL = """
WITH parsed AS (
    -- BY NAME: a parser that logs no confidence index gets a NULL logged_confidence column
    SELECT * FROM ({parsed})
    UNION ALL BY NAME SELECT NULL::DOUBLE AS logged_confidence WHERE false
),
fields AS (
    SELECT *,
        CASE WHEN starts_with(request_id, ' ') OR ends_with(request_id, ' ')
             THEN trim(request_id) ELSE request_id END AS rid,
        upper(strip_accents(CASE WHEN {odd_space}
             THEN trim(regexp_replace(text, '\\s+', ' ', 'g')) ELSE text END)) AS text_norm,
        [p.score FOR p IN predictions] AS scores_raw,
        [p.code FOR p IN predictions] AS codes_raw
    FROM parsed
),
forms AS (
    SELECT * EXCLUDE (codes_csv),
        CASE WHEN regexp_full_match(codes_csv, '{codes_undotted}') THEN 1
             WHEN regexp_full_match(codes_csv, '{codes_dotted}') THEN 2
             WHEN regexp_full_match(codes_csv, '{codes_any}') THEN 3
             ELSE 0 END AS code_form
    FROM (SELECT *, array_to_string(codes_raw, ',') AS codes_csv FROM fields)
),
checked AS (
    SELECT *,
        CASE
            WHEN line_bytes > {max_line_bytes} THEN 'line longer than {max_line_bytes} bytes'
            WHEN line IS NULL THEN 'invalid UTF-8'
            WHEN format_reason IS NOT NULL THEN format_reason
            WHEN rid IS NULL OR rid = '' THEN 'missing request_id'
            WHEN ts_raw IS NULL THEN 'missing timestamp'
            WHEN ts IS NULL THEN 'invalid timestamp: ' || left(ts_raw, 40)
            WHEN NOT (ts >= {ts_min} AND ts < {ts_max})
                THEN 'timestamp out of range: ' || left(ts_raw, 40)
            WHEN text IS NULL OR text_norm = '' THEN 'missing text'
            WHEN predictions IS NULL THEN 'missing predictions'
            WHEN len(predictions) = 0 OR list_count(codes_raw) < len(predictions)
                 OR list_count(scores_raw) < len(predictions)
                THEN 'predictions must be a non-empty list of {{code, score}}'
            WHEN code_form = 0 THEN 'invalid prediction code'
            WHEN list_min(scores_raw) < 0 OR list_max(scores_raw) > 1
                THEN 'prediction score outside [0, 1]'
            WHEN NOT (logged_confidence BETWEEN 0 AND 1)
                THEN 'confidence index outside [0, 1]'
        END AS reason
    FROM forms
),
ordered AS (
    SELECT *,
        reason IS NOT NULL
            OR list_bool_and([s >= coalesce(scores_raw[i + 1], s) FOR s, i IN scores_raw])
            AS best_first
    FROM checked
),
ranked AS (
    -- Predictions best first: sorted by score, descending (ties keep their logged order),
    -- only when they are not already (the usual case costs one pass over the scores).
    SELECT *,
        CASE WHEN best_first THEN codes_raw
             ELSE [s.code FOR s IN list_sort([{{'neg': -p.score, 'i': i, 'code': p.code}}
                                               FOR p, i IN predictions])]
        END AS codes_best,
        CASE WHEN best_first THEN scores_raw ELSE list_reverse_sort(scores_raw) END
            AS scores_best
    FROM ordered
)
SELECT
    line_no,
    line_bytes,
    reason,
    CASE WHEN reason IS NOT NULL THEN regexp_replace(line, '\\r?\\n$', '') END
        AS quarantined_line,
    -- too long or not UTF-8: the first bytes only (made text in _quarantine)
    CASE WHEN reason IS NOT NULL AND line IS NULL THEN raw[1:least(line_bytes, {prefix})] END
        AS quarantined_bytes,
    rid AS request_id,
    md5_number_lower(rid) AS request_hash,
    ts AS "timestamp",
    text,
    text_norm,
    context,
    -- "4399c", " 43.99C " -> "43.99C": valid codes, so the dot goes after 2 digits
    CASE code_form
        WHEN 1 THEN [left(c, 2) || '.' || substr(c, 3) FOR c IN codes_best]
        WHEN 2 THEN codes_best
        ELSE [left(c, 2) || '.' || substr(c, 3)
              FOR c IN [replace(upper(trim(c)), '.', '') FOR c IN codes_best]]
    END AS predicted_codes,
    scores_best AS scores,
    predicted_codes[1] AS predicted_code,
    scores_best[1] AS score,
    -- the index the model logged, else top score minus runner-up (never negative, since
    -- scores are sorted)
    coalesce(logged_confidence,
             CASE WHEN len(scores_best) > 1 THEN scores_best[1] - scores_best[2]
                  ELSE scores_best[1] END) AS confidence,
    model_name,
    model_version,
    extra,
    (ts AT TIME ZONE 'UTC')::DATE AS day
FROM ranked
"""


def check_sql(parser: LineParser, max_line_bytes: int) -> str:
    """SQL: the lines of ``raw_lines`` read by ``parser``, checked and normalised."""
    source = _SOURCE_SQL.format(max_line_bytes=int(max_line_bytes))
    return _CHECK_SQL.format(
        parsed=parser(source),
        max_line_bytes=int(max_line_bytes),
        ts_min=_TS_MIN,
        ts_max=_TS_MAX,
        codes_undotted=_CODES_UNDOTTED,
        codes_dotted=_CODES_DOTTED,
        codes_any=_CODES_ANY,
        odd_space=_ODD_SPACE,
        prefix=QUARANTINE_PREFIX_BYTES,
    )
