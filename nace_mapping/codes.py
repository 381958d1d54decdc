"""NACE / NAF code syntax: normalisation to the dotted form and the level a code is at.

``62.01Z``, ``6201Z``, ``6201z`` and `` 62.01 Z`` are the same subclass; ``J`` is a section,
``62`` a division, ``62.0`` a group, ``62.01`` a class. Pure functions, no table needed.
"""

from __future__ import annotations

import re
from enum import StrEnum

import pandas as pd

from nace_mapping.errors import InvalidCodeError


class Level(StrEnum):
    """The five levels of the French NAF (the first four are NACE's)."""

    SECTION = "section"
    DIVISION = "division"
    GROUP = "group"
    CLASS = "class"
    SUBCLASS = "subclass"

    @property
    def depth(self) -> int:
        return list(Level).index(self) + 1


_PATTERNS: list[tuple[Level, re.Pattern[str]]] = [
    (Level.SECTION, re.compile(r"^([A-V])$")),
    (Level.DIVISION, re.compile(r"^(\d{2})$")),
    (Level.GROUP, re.compile(r"^(\d{2})\.?(\d)$")),
    (Level.CLASS, re.compile(r"^(\d{2})\.?(\d{2})$")),
    (Level.SUBCLASS, re.compile(r"^(\d{2})\.?(\d{2})([A-Z])$")),
]


def _clean(code: str) -> str:
    return re.sub(r"\s+", "", str(code)).upper()


def level_of(code: str) -> Level:
    """The level a code's syntax puts it at (raises InvalidCodeError)."""
    return _parse(code)[0]


def normalize_code(code: str) -> str:
    """The canonical dotted form: ``6201z`` -> ``62.01Z``, ``622`` -> ``62.2``."""
    level, match = _parse(code)
    if level in (Level.SECTION, Level.DIVISION):
        return match[1]
    if level is Level.GROUP:
        return f"{match[1]}.{match[2]}"
    if level is Level.CLASS:
        return f"{match[1]}.{match[2]}"
    return f"{match[1]}.{match[2]}{match[3]}"


def _parse(code: str) -> tuple[Level, re.Match[str]]:
    if code is None:
        raise InvalidCodeError("A code is missing (None).")
    text = _clean(code)
    for level, pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            return level, match
    raise InvalidCodeError(
        f"{code!r} is not a NACE/NAF code: expected a section letter (J), a division (62), "
        "a group (62.0), a class (62.01) or a subclass (62.01Z or 6201Z)."
    )


def parse_codes(values: pd.Series) -> pd.DataFrame:
    """Vectorised ``normalize_code`` + ``level_of`` over a column: ``code`` and ``level``.

    Both are NA where the value is empty or not a code, so a table loader can report the
    first bad row instead of failing on the first exception (same index as ``values``).
    """
    text = values.astype("string").str.replace(r"\s+", "", regex=True).str.upper()
    code = pd.Series(pd.NA, index=values.index, dtype="string")
    level = pd.Series(pd.NA, index=values.index, dtype="object")
    for lv, pattern in _PATTERNS:
        parts = text.str.extract(pattern)
        if lv in (Level.SECTION, Level.DIVISION):
            canonical = parts[0]
        elif lv is Level.SUBCLASS:
            canonical = parts[0] + "." + parts[1] + parts[2]
        else:
            canonical = parts[0] + "." + parts[1]
        hit = canonical.notna() & code.isna()
        code = code.mask(hit, canonical)
        level = level.mask(hit, lv)
    return pd.DataFrame({"code": code, "level": level})


def truncate_code(code: str, level: Level) -> str:
    """The code's ancestor at ``level`` when syntax alone tells it (not for sections)."""
    canonical = normalize_code(code)
    own = level_of(canonical)
    if level.depth > own.depth:
        raise InvalidCodeError(f"{canonical} is a {own}: it has no {level}.")
    if level is Level.SECTION:
        raise InvalidCodeError("A section cannot be derived from the code: use a Nomenclature.")
    lengths = {Level.DIVISION: 2, Level.GROUP: 4, Level.CLASS: 5, Level.SUBCLASS: 6}
    return canonical[: lengths[level]]


# SQL twin of normalize_code for subclasses, for DuckDB queries over millions of rows.
SQL_NORMALIZE_SUBCLASS = (
    "regexp_replace(upper(regexp_replace({col}, '\\s+', '', 'g')), "
    "'^([0-9]{{2}})\\.?([0-9]{{2}})([A-Z])$', '\\1.\\2\\3')"
)
SQL_SUBCLASS_PATTERN = "^[0-9]{2}\\.[0-9]{2}[A-Z]$"
