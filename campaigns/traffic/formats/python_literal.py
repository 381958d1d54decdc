"""Python literals (``repr`` of dicts, lists, strings, numbers, None/True/False) -> JSON, in SQL.

Python's logging writes a dict with ``%s``, i.e. its ``repr``: strings in single quotes, or in
double quotes when they hold an apostrophe and no double quote (``"d'activité"``), ``None``,
``True``, ``False``, escapes such as ``\\'``, ``\\n``, ``\\xe9``. The conversion runs in DuckDB
on a whole column at once, with no Python per line, in two paths:

- *Plain* messages (:func:`literal_is_plain`: no backslash, every quote a delimiter, no string
  holding the words None/True/False, no other name) are converted with whole-string
  replacements: single quotes outside double-quoted strings become double quotes (a split on
  ``"`` tells them apart), the three words their JSON spelling. Deciding "plain" costs two
  full matches of a regular grammar (RE2's DFA). Typical API messages are all plain.
- Any other message is cut into tokens (``regexp_extract_all``: a single-quoted string, a
  double-quoted string, or a run of anything else) and each token rewritten: a single-quoted
  string gets double quotes, its ``"`` escaped and its ``\\'`` unescaped; ``\\xNN`` becomes
  ``\\u00NN``; outside strings, None/True/False become null/true/false. Escaped backslashes are
  set aside first (as ``chr(1)``) so that ``\\\\'`` stays a backslash followed by a quote.

What cannot be carried over exactly is refused (:func:`literal_reason`): an unterminated
string, an escape JSON reads differently (``\\U0001f600``, ``\\0``, surrogates), a name other
than None/True/False (``nan``, ``inf``), a raw ``chr(1)``. Everything else the JSON reader
refuses (tuples, ``1.``, ``.5``) fails the parse. A seeded property test checks both paths
against ``ast.literal_eval`` on hostile strings (``tests/unit/test_ingest_insee_api.py``): every
message is converted to the same value or refused, never read differently.
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
# The plain grammar: skeleton characters (no letter but an exponent's e), the three words,
# strings without backslash or chr(1) (a single-quoted one holds no double quote either).
_SKELETON_CHAR = r"""[^'"\\A-DF-Za-df-z_\x01]"""
_WORD = "(?:None|True|False)"
_SQ_CHARS = r"""[^'"\\\x01]*"""
_DQ_CHARS = r"""[^"\\\x01]*"""
_PLAIN = f"""(?:{_SKELETON_CHAR}|{_WORD}|'{_SQ_CHARS}'|"{_DQ_CHARS}")*"""
_WORD_IN_STRING = (
    f"""{_PLAIN}(?:'{_SQ_CHARS}{_WORD}{_SQ_CHARS}'|"{_DQ_CHARS}{_WORD}{_DQ_CHARS}"){_PLAIN}"""
)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def literal_is_plain(message: str) -> str:
    """SQL: whether ``message`` takes the fast path (see the module docstring)."""
    return (
        f"(regexp_full_match({message}, {_sql_text(_PLAIN)}) "
        f"AND NOT regexp_full_match({message}, {_sql_text(_WORD_IN_STRING)}))"
    )


def literal_to_json(message: str, plain: str) -> str:
    """SQL: the JSON text of the Python literal ``message`` (NULL when refused); ``plain`` is
    a column holding :func:`literal_is_plain` of it."""
    # split on double quotes: odd pieces lie outside double-quoted strings
    quoted = (
        f"CASE WHEN NOT contains({message}, '\"') THEN replace({message}, '''', '\"') "
        "ELSE array_to_string([CASE WHEN i % 2 = 1 THEN replace(piece, '''', '\"') "
        f"ELSE piece END FOR piece, i IN string_split({message}, '\"')], '\"') END"
    )
    plain_json = (
        f"replace(replace(replace({quoted}, 'None', 'null'), 'True', 'true'), 'False', 'false')"
    )
    tokens = _tokens(message)
    return (
        f"CASE WHEN {plain} THEN {plain_json} "
        f"WHEN ({_token_reason(message, tokens)}) IS NULL THEN {_tokens_to_json(tokens)} END"
    )


def literal_reason(message: str, plain: str) -> str:
    """SQL: why ``message`` cannot be converted exactly (NULL when it can)."""
    return f"CASE WHEN NOT {plain} THEN {_token_reason(message, _tokens(message))} END"


def _tokens(message: str) -> str:
    return f"regexp_extract_all({message}, {_sql_text(_TOKEN)})"


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


def _tokens_to_json(tokens: str) -> str:
    """SQL: the JSON text of a Python literal cut into ``tokens``."""
    skeleton = "replace(replace(replace(t, 'None', 'null'), 'True', 'true'), 'False', 'false')"
    return (
        f"array_to_string([CASE WHEN left(t, 1) IN ('''', '\"') THEN {_string_to_json('t')} "
        f"ELSE {skeleton} END FOR t IN {tokens}], '')"
    )


def _token_reason(message: str, tokens: str) -> str:
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
