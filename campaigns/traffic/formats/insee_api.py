"""The production API's own log lines (``--format insee-api``).

The API logs one line per prediction with Python's logging
(``%(asctime)s - %(levelname)s - %(message)s``), the message being the ``repr`` of a dict::

    2025-03-14 09:12:55,123 - INFO - {'Query': {'description_activity': "Vente d'articles",
        'other_nature_activity': None, 'precision_act_sec_agricole': None, 'type_form': 'X',
        'nature': '10', 'surface': None, 'cj': '5499', 'activity_permanence_status': 'P'},
        'Response': {'1': {'code': '4791B', 'probabilite': 0.91, 'libelle': '...'},
        '2': {...}, 'IC': 0.83, 'MLversion': 'run-4f2a'}}

(one physical line). How it becomes the traffic table:

- ``timestamp``: ``asctime``, read as UTC (the API runs in UTC containers); ``text``:
  ``Query.description_activity``;
- ``predictions``: ``Response["1"]``, ``["2"]``... (``code``, ``probabilite``), in rank order;
  ``confidence``: the logged ``IC`` itself (the index the API used to decide automatic coding),
  instead of recomputing the gap between the two best scores; ``model_version``: ``MLversion``;
- ``context``: the other Query fields, under the names the rest of the tool uses
  (:data:`CONTEXT_NAMES`; a field not listed keeps its name, a ``None`` is left out);
- ``request_id``: the API logs none, so it is ``md5(asctime, Query)``: stable across reruns
  (re-ingesting never duplicates) and the same request logged twice in the same millisecond is
  one request.

A line whose message is not a ``{'Query'...`` dict (startup messages, warnings, tracebacks)
is *skipped* and counted, not quarantined. A prediction line that cannot be read exactly
(see :mod:`.python_literal`) is quarantined with its reason, and so is one where a dict holds
a key twice, at any depth (``'description_activity'`` in ``Query``, ``'IC'``, a rank ``'1'``,
``'probabilite'``...), with the reason "duplicate key": Python's ``literal_eval`` keeps the
last value, DuckDB's JSON functions the first, and no reading of such a line is safe.
"""

from __future__ import annotations

from campaigns.traffic.formats.python_literal import (
    literal_is_plain,
    literal_reason,
    literal_to_json,
)
from campaigns.traffic.ingest import NOT_A_RECORD

# Query field -> the context field name the labeling screens and the features know.
CONTEXT_NAMES = {
    "cj": "cj",
    "nature": "activ_nat_et",
    "other_nature_activity": "activ_nat_lib_et",
    "surface": "activ_surf_et",
    "type_form": "liasse_type",
    "activity_permanence_status": "activ_perm_et",
}
TEXT_FIELD = "description_activity"

_SPEC = '{"Query": "JSON", "Response": "MAP(VARCHAR, JSON)"}'
# The Query fields renamed or moved (set to null, i.e. removed, by a JSON merge patch).
_MOVED = "{" + ", ".join(f'"{f}": null' for f in (TEXT_FIELD, *CONTEXT_NAMES)) + "}"
_RENAMED = ", ".join(f"'{new}', query->'$.{old}'" for old, new in CONTEXT_NAMES.items())
_JSON = literal_to_json("message", "plain")
_MARK = " - {''Query''"  # where the message of a prediction line starts (SQL-quoted)
DUPLICATE_KEY = "duplicate key"


# Whether a dict of the message, at any depth, holds a key twice: Python's literal_eval keeps
# the last value, DuckDB's JSON paths the first, so such a line has two readings. The dicts of
# the API's shape (the message, Query, Response and its ranks) are checked by their key lists.
# A message holding any other dict (more '{' than those: a brace in a string counts too) is
# walked whole with json_tree, exact but three times the cost of the whole parse if it ran on
# every line; it runs on those lines only (the subquery is correlated on a column that is
# NULL everywhere else).
def _repeats(keys: str) -> str:
    return f"(len({keys}) - list_unique({keys}))"


_RANK_KEYS = "coalesce(json_keys(valid_js, '$.Response.*'), [])"
_TOP_KEYS = "coalesce(json_keys(valid_js), [])"
_QUERY_KEYS = "coalesce(json_keys(valid_js, '$.Query'), [])"
_RESPONSE_KEYS = "coalesce(json_keys(valid_js, '$.Response'), [])"
_KNOWN_DICTS = (
    "1 + (json_type(valid_js, '$.Query') = 'OBJECT')::INTEGER"
    " + (json_type(valid_js, '$.Response') = 'OBJECT')::INTEGER"
    " + len([k FOR k IN rank_keys IF len(k) > 0])"
)
_BRACES = "(length(valid_js) - length(replace(valid_js, '{', '')))"
_KNOWN_REPEATS = (
    f"{_repeats(_TOP_KEYS)} + {_repeats(_QUERY_KEYS)} + {_repeats(_RESPONSE_KEYS)}"
    f" + coalesce(list_sum([{_repeats('k')} FOR k IN rank_keys]), 0)"
)
_ANY_DUPLICATE = (
    "coalesce((SELECT count(*) > count(DISTINCT (parent, key)) FROM json_tree(other_dicts)), false)"
)


def insee_api_parser(relation: str) -> str:
    """The production API's log lines (a :data:`campaigns.traffic.ingest.LineParser`)."""
    return f"""
    SELECT * EXCLUDE (mark, head, message, plain, literal_reason, js, duplicate_key, j, query,
                      response, ranked, text_json, ic_json),
        CASE
            WHEN mark = 0 THEN '{NOT_A_RECORD}'
            WHEN literal_reason IS NOT NULL THEN literal_reason
            WHEN duplicate_key THEN '{DUPLICATE_KEY}'
            WHEN j IS NULL THEN 'invalid Python literal'
            WHEN left(query, 1) <> '{{' THEN 'Query is not a dict'
            WHEN response IS NULL THEN 'Response is not a dict'
            WHEN text_json IS NOT NULL AND left(text_json, 1) NOT IN ('"', 'n')
                THEN 'description_activity is not a string'
            WHEN list_count([p.score FOR p IN predictions]) < len(predictions)
                THEN 'prediction score is not a number'
            WHEN ic_json IS NOT NULL AND ic_json <> 'null' AND logged_confidence IS NULL
                THEN 'IC is not a number'
        END AS format_reason
    FROM (
        SELECT *,
            'api-' || md5(ts_raw || ' ' || query) AS request_id,
            TRY_CAST(replace(ts_raw, ',', '.') AS TIMESTAMPTZ) AS ts,
            text_json ->> '$' AS text,
            json_merge_patch('{{}}', query, '{_MOVED}', json_object({_RENAMED}))::VARCHAR
                AS context,
            [{{'code': e.value ->> '$.code',
               'score': TRY_CAST((e.value -> '$.probabilite')::VARCHAR AS DOUBLE)}}
             FOR e IN ranked] AS predictions,
            NULL::VARCHAR AS model_name,
            response['MLversion'] ->> '$' AS model_version,
            NULL::VARCHAR AS extra,
            TRY_CAST(ic_json::VARCHAR AS DOUBLE) AS logged_confidence
        FROM (
            SELECT *,
                j.Query::VARCHAR AS query, j.Response AS response,
                list_sort([{{'rank': e.key::INTEGER, 'value': e.value}}
                           FOR e IN map_entries(j.Response)
                           IF regexp_full_match(e.key, '[0-9]{{1,4}}')]) AS ranked,
                j.Query -> '$.{TEXT_FIELD}' AS text_json,
                j.Response['IC'] AS ic_json
            FROM (
                SELECT * EXCLUDE (valid_js, rank_keys, other_dicts),
                    TRY(json_transform(js, '{_SPEC}')) AS j,
                    coalesce({_KNOWN_REPEATS} > 0, false) OR {_ANY_DUPLICATE} AS duplicate_key
                FROM (SELECT *, CASE WHEN {_BRACES} <> {_KNOWN_DICTS} THEN valid_js END
                                AS other_dicts
                FROM (SELECT *, {_RANK_KEYS} AS rank_keys FROM (
                SELECT *, CASE WHEN json_valid(js) THEN js END AS valid_js FROM (
                    SELECT *, CASE WHEN literal_reason IS NULL THEN {_JSON} END AS js
                    FROM (
                        SELECT *, {literal_reason("message", "plain")} AS literal_reason
                        FROM (SELECT *, {literal_is_plain("message")} AS plain FROM (
                            SELECT *,
                                CASE WHEN mark > 0 THEN left(line, mark - 1) END AS head,
                                CASE WHEN mark > 0
                                     THEN rtrim(substr(line, mark + 3), chr(13) || chr(10))
                                END AS message,
                                split_part(head, ' - ', 1) AS ts_raw
                            FROM (SELECT *, strpos(line, '{_MARK}') AS mark FROM {relation})
                        ))
                    )
                )
            ))))
        )
    )
    """
