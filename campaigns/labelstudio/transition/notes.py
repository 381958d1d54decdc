"""Explanatory notes of the new codes, shown beside each candidate in transition tasks.

Choosing between the candidate new codes of a multivocal old code is decided by the
explanatory notes ("comprend / ne comprend pas"), not by the titles alone; the user gives
them as a table (setting ``CAMPAIGNS_CANDIDATE_NOTES``): a CSV (``,`` ``;`` or tab
separated, UTF-8 or Windows-1252) or a Parquet file with columns ``code`` and ``note``.
Codes may be dotted or not (``01.11Y``, ``0111Y``); several rows of one code are joined in
table order (a note split over lines). Unset, candidates show their titles only.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from campaigns.config import Settings
from campaigns.errors import ConfigurationError
from campaigns.labelstudio.regions import canonical

CODE_COLUMN = "code"
NOTE_COLUMN = "note"
HINT = (
    "Set CAMPAIGNS_CANDIDATE_NOTES to a CSV or Parquet file with columns code,note "
    "(one explanatory note per new code)."
)


def candidate_notes(settings: Settings) -> dict[str, str]:
    """The notes the settings configure, by canonical new code (empty when unset)."""
    if not settings.candidate_notes:
        return {}
    return load_candidate_notes(settings.candidate_notes)


def load_candidate_notes(source: str) -> dict[str, str]:
    """``{code: note}`` read from a CSV or Parquet table; a clear error when unreadable.

    Read once per file version (path, size, modification time), so every push of a
    campaign does not parse it again while an edited file is picked up.
    """
    path = Path(source).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"No candidate notes table at {source} (file not found).", HINT)
    stat = path.stat()
    return dict(_load(str(path), stat.st_size, stat.st_mtime_ns))


@lru_cache(maxsize=4)
def _load(path: str, _size: int, _mtime: int) -> dict[str, str]:
    pairs = _from_parquet(path) if path.lower().endswith(".parquet") else _from_csv(path)
    notes: dict[str, str] = {}
    for code, note in pairs:
        key = canonical(str(code)) if code is not None else None
        text = (note or "").strip()
        if key and text:
            notes[key] = f"{notes[key]}\n{text}" if key in notes else text
    if not notes:
        raise ConfigurationError(f"The candidate notes table {path} has no code with a note.", HINT)
    return notes


def _columns(names: list[str], path: str) -> tuple[int, int]:
    keys = [name.strip().strip('"').lower() for name in names]
    if CODE_COLUMN not in keys or NOTE_COLUMN not in keys:
        raise ConfigurationError(
            f"The candidate notes table {path} has no code and note columns "
            f"(found {', '.join(names) or 'none'}).",
            HINT,
        )
    return keys.index(CODE_COLUMN), keys.index(NOTE_COLUMN)


def _from_parquet(path: str) -> list[tuple[str | None, str | None]]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as err:  # not Parquet, truncated, unreadable
        raise ConfigurationError(
            f"Cannot read the candidate notes table {path}: {err}", HINT
        ) from err
    code, note = _columns(table.column_names, path)
    codes = table.column(code).cast("string").to_pylist()
    notes = table.column(note).cast("string").to_pylist()
    return list(zip(codes, notes, strict=True))


def _from_csv(path: str) -> list[tuple[str | None, str | None]]:
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    # The delimiter is read from the header alone: notes are prose full of commas and
    # semicolons, which mislead a sniffer looking at the rows.
    header = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=header.count)
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        raise ConfigurationError(f"The candidate notes table {path} is empty.", HINT)
    code, note = _columns(rows[0], path)
    return [(row[code], row[note]) for row in rows[1:] if len(row) > max(code, note)]
