"""Python literals (``repr`` of dicts, lists, strings, numbers, None/True/False) -> JSON, in SQL.

Python's logging writes a dict with ``%s``, i.e. its ``repr``: strings in single quotes, or in
double quotes when they hold an apostrophe and no double quote (``"d'activité"``), ``None``,
``True``, ``False``, escapes such as ``\\'``, ``\\n``, ``\\xe9``. The conversion runs in DuckDB
on a whole column at once, with no Python per line:

1. ``regexp_extract_all`` cuts the message into tokens: a single-quoted string, a double-quoted
   string, or a run of anything else (the *skeleton*: braces, colons, commas, numbers,
   ``None``...). A string token is taken whole, so a brace, a quote of the other kind or the
   word ``None`` inside a text is never touched.
2. Each token is rewritten: a single-quoted string gets double quotes, its ``"`` escaped and
   its ``\\'`` unescaped; ``\\xNN`` becomes ``\\u00NN``; in the skeleton, ``None``/``True``/
   ``False`` become ``null``/``true``/``false``. Escaped backslashes are set aside first (as
   ``chr(1)``) so that ``\\\\'`` stays a backslash followed by a quote.
3. What the rewriting cannot carry over exactly is refused instead (:func:`literal_reason`):
   an unterminated string, an escape JSON reads differently (``\\U0001f600``, ``\\0``,
   surrogates), a name other than None/True/False (``nan``, ``inf``), a raw ``chr(1)``.
   Everything else the JSON reader refuses (tuples, ``1.``, ``.5``) fails the parse.

The rules were checked against ``ast.literal_eval`` on generated hostile strings
(``tests/unit/test_ingest_insee_api.py``): every message is either converted to the same value
or refused, never read differently.
"""

from __future__ import annotations

# A string literal (either quote; a backslash escapes the next character) or a skeleton run.
_TOKEN = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^'"]+"""
_STRING = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
# The escapes whose JSON reading is the same as Python's (after \\ is set aside); \u of a
# surrogate is left out (Python keeps two lone surrogates where JSON pairs them).
_ESCAPES_OK = (
    r"""\\(?:['"nrt]|x[0-9a-fA-F]{2}"""
    r"|u(?:[0-9a-ce-fA-CE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}))"
)
_BACKSLASH = "\\"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _string_to_json(token: str) -> str:
    """SQL: one string token (quotes included) as a JSON string."""
    escaped_out = f"replace({token}, '{_BACKSLASH * 2}', chr(1))"
    single = (
        f"""'"' || replace(replace(replace(replace(replace({escaped_out}[2:-2], """
        f"""'\\"', '"'), '"', '\\"'), '\\''', ''''), '\\x', '\\u00'), chr(1), '\\\\') || '"'"""
    )
    double = (
        f"replace(replace(replace({escaped_out}, '\\''', ''''), '\\x', '\\u00'), chr(1), '\\\\')"
    )
    return f"CASE left({token}, 1) WHEN '''' THEN {single} ELSE {double} END"


def literal_tokens(message: str) -> str:
    """SQL: the tokens of ``message`` (a VARCHAR expression)."""
    return f"regexp_extract_all({message}, {_sql_text(_TOKEN)})"


def literal_to_json(tokens: str) -> str:
    """SQL: the JSON text of a Python literal cut into ``tokens`` by :func:`literal_tokens`."""
    skeleton = "replace(replace(replace(t, 'None', 'null'), 'True', 'true'), 'False', 'false')"
    return (
        f"array_to_string([CASE WHEN left(t, 1) IN ('''', '\"') THEN {_string_to_json('t')} "
        f"ELSE {skeleton} END FOR t IN {tokens}], '')"
    )


def literal_reason(message: str, tokens: str) -> str:
    """SQL: why ``message`` cannot be converted exactly (NULL when it can)."""
    skeleton = f"regexp_replace({message}, {_sql_text(_STRING)}, '''''', 'g')"
    names = f"regexp_replace({skeleton}, '\\b(?:None|True|False)\\b', '', 'g')"
    escapes = (
        f"regexp_replace(replace({message}, '{_BACKSLASH * 2}', chr(1)), "
        f"{_sql_text(_ESCAPES_OK)}, '', 'g')"
    )
    return f"""CASE
        WHEN contains({message}, chr(1)) THEN 'control character \\x01 in the message'
        WHEN length(array_to_string({tokens}, '')) <> length({message})
            THEN 'unterminated string in the Python literal'
        WHEN contains({message}, '{_BACKSLASH}') AND contains({escapes}, '{_BACKSLASH}')
            THEN 'unsupported escape in the Python literal'
        WHEN regexp_matches({names}, '[A-DF-Za-df-z_]')
            THEN 'not a Python literal (a name other than None, True, False)'
    END"""
