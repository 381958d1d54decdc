"""Human titles for the context codes experts see (legal category, activity nature...).

By default the tables are Insee's, shipped with ``nace_mapping`` (legal categories and
Sirene activity natures: see ``nace_mapping/data/PROVENANCE.md``); a path or URL in the
settings (``CAMPAIGNS_CONTEXT_LEGAL_CATEGORIES``, ``CAMPAIGNS_CONTEXT_ACTIVITY_NATURES``)
replaces one. Fields whose values are fixed (``activ_perm_et``: P/S) have built-in titles; a
code without a title is shown alone.

Accepted layouts: a CSV (``,``, ``;`` or tab separated, UTF-8 or Windows-1252 as Insee
publishes them) with a code column (``code``) and a title column (``libelle``, ``title``,
``label``...), or a JSON object ``{code: title}`` (or a list of ``{code, title}`` objects).
Titles made only of ``/`` (``"/////////"``, Insee's "no title") count as missing. Titles are
cleaned like the nomenclatures' (control characters removed, spaces collapsed): they end up in
task HTML that Label Studio renders.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Any

from campaigns.config import Settings
from campaigns.errors import ConfigurationError
from campaigns.labelstudio.gold.tasks import ContextTitles
from nace_mapping import clean_title
from nace_mapping.builtin import ACTIVITY_NATURES, LEGAL_CATEGORIES, BuiltinTable, data_file

LEGAL_CATEGORY = "cj"
ACTIVITY_NATURE = "activ_nat_et"

BUILTIN_TITLES: ContextTitles = {
    "activ_perm_et": {"P": "permanent", "S": "seasonal"},
}
"""Fields whose values are fixed and documented; event and form types stay raw codes."""

CODE_COLUMNS = ("code", "codes", "id", "key", "cj", "activ_nat_et", "value")
TITLE_COLUMNS = ("libelle", "title", "label", "intitule", "name", "lib", "description")

SETTING_OF = {
    LEGAL_CATEGORY: ("CAMPAIGNS_CONTEXT_LEGAL_CATEGORIES", "legal categories"),
    ACTIVITY_NATURE: ("CAMPAIGNS_CONTEXT_ACTIVITY_NATURES", "activity natures"),
}
BUILTIN_TABLES: dict[str, BuiltinTable] = {
    LEGAL_CATEGORY: LEGAL_CATEGORIES,
    ACTIVITY_NATURE: ACTIVITY_NATURES,
}
"""The official table each field falls back to when its setting is unset."""


def load_context_titles(
    legal_categories: str | None, activity_natures: str | None
) -> ContextTitles:
    """Titles per context field: fixed values, plus the table at each path, else the built-in.

    Raises ``ConfigurationError`` when a path does not exist or its columns are not
    recognised. Each table is read once per path (cached); callers get their own dicts.
    """
    titles: ContextTitles = {field: dict(values) for field, values in BUILTIN_TITLES.items()}
    for field, source in ((LEGAL_CATEGORY, legal_categories), (ACTIVITY_NATURE, activity_natures)):
        table = _load_table(str(source), field) if source else _builtin_table(field)
        titles[field] = dict(table)
    return titles


def context_titles(settings: Settings) -> ContextTitles:
    """The titles the settings configure."""
    return load_context_titles(settings.context_legal_categories, settings.context_activity_natures)


def _is_placeholder(title: str) -> bool:
    return set(title) <= {"/"}


def _clean(code: Any, title: Any) -> tuple[str, str] | None:
    if code is None or title is None:
        return None
    code_text = clean_title(code)
    title_text = clean_title(title)
    if not code_text or not title_text or _is_placeholder(title_text):
        return None
    return code_text, title_text


def _hint(field: str) -> str:
    variable, _ = SETTING_OF[field]
    return f"Set {variable} to the path or URL of a code,title CSV or a {{code: title}} JSON."


@lru_cache(maxsize=16)
def _load_table(source: str, field: str) -> dict[str, str]:
    return _parse_table(_read_bytes(source, field), source, field)


@lru_cache(maxsize=2)
def _builtin_table(field: str) -> dict[str, str]:
    """The packaged official table of ``field``; its size is checked against PROVENANCE.md."""
    builtin = BUILTIN_TABLES[field]
    table = _parse_table(data_file(builtin.filename).read_bytes(), builtin.filename, field)
    if len(table) != builtin.counts["codes"]:
        raise ConfigurationError(
            f"The built-in {builtin.edition} table {builtin.filename} has {len(table)} titled "
            f"codes, not {builtin.counts['codes']} (PROVENANCE.md): the package is damaged.",
            _hint(field),
        )
    return table


def _parse_table(raw: bytes, source: str, field: str) -> dict[str, str]:
    """``{code: title}`` from a CSV or JSON file's bytes (layout told by suffix or content)."""
    _, what = SETTING_OF[field]
    text = _decode(raw)
    suffix = Path(source.split("?")[0]).suffix.lower()
    stripped = text.lstrip()
    if suffix == ".json" or (suffix != ".csv" and stripped[:1] in ("{", "[")):
        pairs = _from_json(text, source, field)
    else:
        pairs = _from_csv(text, source, field)
    table = dict(pair for pair in (_clean(c, t) for c, t in pairs) if pair is not None)
    if not table:
        raise ConfigurationError(
            f"The {what} table {source} has no code with a title.", _hint(field)
        )
    return table


def _read_bytes(source: str, field: str) -> bytes:
    _, what = SETTING_OF[field]
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=60) as response:
                return response.read()
        except OSError as err:
            raise ConfigurationError(
                f"Cannot read the {what} table at {source}: {err}.", _hint(field)
            ) from err
    path = Path(source).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"No {what} table at {source} (file not found).", _hint(field))
    return path.read_bytes()


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 (Insee's CSV files often are)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _header_key(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return plain.strip().strip('"').lower()


def _pick(columns: list[str]) -> tuple[int, int] | None:
    keys = [_header_key(c) for c in columns]
    code = next((keys.index(c) for c in CODE_COLUMNS if c in keys), None)
    title = next((keys.index(c) for c in TITLE_COLUMNS if c in keys), None)
    if code is None or title is None or code == title:
        return None
    return code, title


def _from_csv(text: str, source: str, field: str) -> list[tuple[str, str]]:
    _, what = SETTING_OF[field]
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    if not rows:
        raise ConfigurationError(f"The {what} table {source} is empty.", _hint(field))
    picked = _pick(rows[0])
    if picked is None:
        raise ConfigurationError(
            f"The {what} table {source} has no recognisable code and title columns "
            f"(found {', '.join(rows[0]) or 'none'}).",
            f"Name them 'code' and one of {', '.join(TITLE_COLUMNS[:3])}. " + _hint(field),
        )
    code, title = picked
    return [(row[code], row[title]) for row in rows[1:] if len(row) > max(code, title)]


def _from_json(text: str, source: str, field: str) -> list[tuple[str, str]]:
    _, what = SETTING_OF[field]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigurationError(
            f"The {what} table {source} is not valid JSON ({err.msg}, line {err.lineno}).",
            _hint(field),
        ) from err
    if isinstance(data, dict):
        return [(str(code), title) for code, title in data.items() if isinstance(title, str)]
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        picked = _pick(list(data[0]))
        if picked is not None:
            names = list(data[0])
            code, title = names[picked[0]], names[picked[1]]
            return [(item.get(code), item.get(title)) for item in data]
    raise ConfigurationError(
        f"The {what} table {source} is neither a {{code: title}} object nor a list of "
        "{code, title} objects.",
        _hint(field),
    )
