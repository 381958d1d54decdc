"""A nomenclature (NAF rév.2, NAF 2025...): every code with its title, level and parents.

Reads the tables statistics offices publish, from a path or a URL: the 5-level layout
(``NIV1``..``NIV5`` with ``LIB_NIV1``..``LIB_NIV5``) and the section/division/subclass layout
(``level, code, title, parent``), as CSV or XLSX. Groups and classes missing from a table are
derived from the subclass codes (their title then stays unknown).
"""

from __future__ import annotations

import io
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from nace_mapping.builtin import NAF2025_GAPS, NOMENCLATURES, BuiltinTable, data_file
from nace_mapping.codes import Level, level_of, normalize_code, parse_codes
from nace_mapping.errors import (
    CorrespondenceFormatError,
    NaceMappingError,
    TableIntegrityError,
    TableNotFoundError,
    UnknownCodeError,
)
from nace_mapping.text import clean_titles

FIVE_LEVELS = [
    (Level.SECTION, "NIV1"),
    (Level.DIVISION, "NIV2"),
    (Level.GROUP, "NIV3"),
    (Level.CLASS, "NIV4"),
    (Level.SUBCLASS, "NIV5"),
]
_PREFIX = {Level.DIVISION: 2, Level.GROUP: 4, Level.CLASS: 5}
"""Length of a code's ancestor at that level, in the dotted form (``01.11Z`` -> ``01.11``)."""


def read_table_file(path_or_url: str | Path) -> pd.DataFrame:
    """A CSV or XLSX file as strings, empty cells as ``""`` (codes keep their leading zero).

    CSV files are read as UTF-8, else Windows-1252 (Insee publishes both).
    """
    source = str(path_or_url)
    suffix = Path(source.split("?")[0]).suffix.lower()
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=60) as response:
            data = response.read()
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise TableNotFoundError(f"No table at {path_or_url} (file not found).")
        data = path.read_bytes()
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(io.BytesIO(data), dtype=str).fillna("")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    # pandas' C parser ends a field at a NUL byte (2.x): the rest of the title would be lost.
    # NUL is a control character, which titles never keep anyway (text.clean_title).
    return pd.read_csv(io.StringIO(text.replace("\x00", "")), dtype=str, keep_default_na=False)


def source_name(path_or_url: str | Path) -> str:
    """The file name errors cite (``naf2008_to_naf2025.csv``), for a path or a URL."""
    return Path(str(path_or_url).split("?")[0]).name or str(path_or_url)


def spreadsheet_rows(frame: pd.DataFrame) -> pd.Series:
    """Each row's number as a spreadsheet shows it: the header is row 1, data from row 2."""
    return pd.Series(range(2, len(frame) + 2), index=frame.index)


def fail_at_first(
    bad: pd.Series, rows: pd.Series, source: str, problem: Callable[[Any], str]
) -> None:
    """Raise one TableIntegrityError at the first row where ``bad`` holds, if any.

    ``problem`` gets that row's index label and says what is wrong with it; the error also
    counts the other rows with the same problem, so one fix-and-retry loop is enough.
    """
    hits = bad[bad.fillna(False).astype(bool)].index
    if len(hits):
        first = hits[0]
        raise TableIntegrityError(source, problem(first), int(rows[first]), len(hits) - 1)


def _check_codes(
    frame: pd.DataFrame, column: str, rows: pd.Series, source: str, expected: Level | None
) -> pd.DataFrame:
    """Parse one code column; the first empty, malformed or wrong-level cell is an error."""
    parsed = parse_codes(frame[column])
    raw = frame[column]
    fail_at_first(raw.str.strip() == "", rows, source, lambda i: f"{column} is empty")
    fail_at_first(
        parsed["code"].isna(), rows, source, lambda i: f"{column} {raw[i]!r} is not a NACE/NAF code"
    )
    if expected is not None:
        fail_at_first(
            parsed["level"] != expected,
            rows,
            source,
            lambda i: f"{column} {raw[i]!r} is not a {expected} (it is a {parsed['level'][i]})",
        )
    return parsed


def _check_unique(codes: pd.Series, rows: pd.Series, source: str, what: str) -> None:
    """A code listed twice is an error naming both rows (which title would be right?)."""
    first_row = rows.groupby(codes).transform("min")
    fail_at_first(
        codes.duplicated(),
        rows,
        source,
        lambda i: f"{what} {codes[i]} is listed twice (first at row {first_row[i]})",
    )


@dataclass
class Nomenclature:
    """Codes of every level, their titles and parents."""

    name: str
    titles: dict[str, str | None] = field(repr=False)
    parents: dict[str, str | None] = field(repr=False)
    levels: dict[str, Level] = field(repr=False)
    quirks: list[str] = field(default_factory=list)
    """Rows the loader had to correct (e.g. a section listed as a subclass)."""
    gaps: dict[str, str] = field(default_factory=dict, repr=False)
    """Codes of this edition that the table lacks, with why: unknown here, but expected."""

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def builtin(cls, edition: str = "naf2008") -> Nomenclature:
        """The official table shipped with the package: ``naf2008`` (NAF rév.2) or ``naf2025``.

        Its counts by level are checked against the published ones (``data/PROVENANCE.md``).
        """
        if edition not in NOMENCLATURES:
            raise NaceMappingError(
                f"Unknown built-in nomenclature {edition!r}: {' or '.join(NOMENCLATURES)}."
            )
        return _load_builtin(edition).copy()

    def copy(self) -> Nomenclature:
        """An independent copy (its dictionaries can be changed without touching this one)."""
        return replace(
            self,
            titles=dict(self.titles),
            parents=dict(self.parents),
            levels=dict(self.levels),
            quirks=list(self.quirks),
            gaps=dict(self.gaps),
        )

    @classmethod
    def from_path(cls, path_or_url: str | Path, name: str | None = None) -> Nomenclature:
        """Read a table in either layout; a broken one raises one error naming file and row."""
        frame = read_table_file(path_or_url)
        return cls.from_frame(frame, name or Path(str(path_or_url)).stem, source_name(path_or_url))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, name: str, source: str = "table") -> Nomenclature:
        """A table already read (strings, one row per line of the file after the header)."""
        columns = set(frame.columns)
        frame = frame.fillna("").astype(str)
        blank = (frame == "").all(axis=1)
        if {"NIV1", "NIV2", "NIV5"} <= columns:
            nomenclature = cls._from_five_levels(frame, blank, name, source)
        elif {"level", "code", "title", "parent"} <= columns:
            nomenclature = cls._from_level_rows(frame, blank, name, source)
        else:
            raise CorrespondenceFormatError(
                f"{source} is not a nomenclature table: expected columns NIV1..NIV5 "
                f"(+ LIB_NIV1..LIB_NIV5) or level, code, title, parent; found {sorted(columns)}."
            )
        nomenclature.check_counts(None, source)
        return nomenclature

    @classmethod
    def _from_five_levels(
        cls, frame: pd.DataFrame, blank: pd.Series, name: str, source: str
    ) -> Nomenclature:
        """One row per subclass with its four ancestors: every link is checked by syntax,
        and a division must sit under the same section on every row."""
        rows = spreadsheet_rows(frame)[~blank]
        frame = frame[~blank]
        chain = [(level, column) for level, column in FIVE_LEVELS if column in frame.columns]
        codes = {
            level: _check_codes(frame, column, rows, source, level)["code"]
            for level, column in chain
        }
        _check_unique(codes[Level.SUBCLASS], rows, source, "subclass")
        for (level, _), (child_level, _) in pairwise(chain):
            if level is Level.SECTION:
                cls._check_sections(codes[level], codes[child_level], rows, source)
                continue
            expected = codes[child_level].str[: _PREFIX[level]]
            fail_at_first(
                expected != codes[level],
                rows,
                source,
                lambda i, lv=level, cl=child_level: (
                    f"{cl} {codes[cl][i]} is under {lv} {codes[lv][i]} but its code says "
                    f"{lv} {codes[cl][i][: _PREFIX[lv]]}"
                ),
            )
        parts = []
        parent: pd.Series = pd.Series(None, index=frame.index, dtype=object)
        for level, column in chain:
            title = (
                frame[f"LIB_{column}"] if f"LIB_{column}" in frame else pd.Series("", frame.index)
            )
            parts.append(
                pd.DataFrame(
                    {
                        "code": codes[level],
                        "level": level,
                        "title": clean_titles(title),
                        "parent": parent,
                    }
                )
            )
            parent = codes[level].astype(object)
        return cls._from_parts(pd.concat(parts, ignore_index=True), name, [])

    @staticmethod
    def _check_sections(
        sections: pd.Series, divisions: pd.Series, rows: pd.Series, source: str
    ) -> None:
        """A division's section cannot be read from its code: it must agree across rows."""
        first = sections.groupby(divisions).transform("first")
        first_row = rows.groupby(divisions).transform("min")
        fail_at_first(
            sections != first,
            rows,
            source,
            lambda i: (
                f"division {divisions[i]} is under section {sections[i]} here but under "
                f"section {first[i]} at row {first_row[i]}"
            ),
        )

    @classmethod
    def _from_level_rows(
        cls, frame: pd.DataFrame, blank: pd.Series, name: str, source: str
    ) -> Nomenclature:
        """One row per section, division and subclass (``level, code, title, parent``)."""
        rows = spreadsheet_rows(frame)[~blank]
        frame = frame[~blank]
        parsed = _check_codes(frame, "code", rows, source, None)
        code, level = parsed["code"], parsed["level"]
        _check_unique(code, rows, source, "code")
        relabelled = frame["level"] != level.astype(str)
        quirks = [
            f"{code[i]} is listed as a {frame['level'][i]} but is a {level[i]}: "
            f"kept as a {level[i]}"
            for i in relabelled[relabelled].index
        ]
        parent = cls._check_parents(frame, code, level, rows, source)
        table = pd.DataFrame(
            {"code": code, "level": level, "title": clean_titles(frame["title"]), "parent": parent}
        )
        return cls._from_parts(cls._derive_groups_and_classes(table), name, quirks)

    @staticmethod
    def _check_parents(
        frame: pd.DataFrame, code: pd.Series, level: pd.Series, rows: pd.Series, source: str
    ) -> pd.Series:
        """Sections have no parent; a division's parent is a section of the table; below, the
        parent must be an ancestor by syntax and the code's division must be in the table."""
        raw = frame["parent"]
        parent = parse_codes(raw)["code"]
        is_section = level == Level.SECTION
        is_division = level == Level.DIVISION
        below = ~is_section & ~is_division
        divisions = set(code[is_division])
        fail_at_first(
            is_section & (raw.str.strip() != ""),
            rows,
            source,
            lambda i: f"section {code[i]} has a parent ({raw[i]!r})",
        )
        fail_at_first(
            is_division & ~parent.isin(set(code[is_section])),
            rows,
            source,
            lambda i: (
                f"division {code[i]} has parent {raw[i]!r}, which is not a section of this table"
                if raw[i].strip()
                else f"division {code[i]} has no parent section"
            ),
        )
        ancestor = (
            (parent == code.str[:2])
            | ((parent == code.str[:4]) & level.isin([Level.CLASS, Level.SUBCLASS]))
            | ((parent == code.str[:5]) & (level == Level.SUBCLASS))
        )
        fail_at_first(
            below & ~ancestor.fillna(False).astype(bool),
            rows,
            source,
            lambda i: (
                f"{level[i]} {code[i]} has parent {raw[i]!r}, but its code puts it in "
                f"division {code[i][:2]}"
            ),
        )
        fail_at_first(
            below & ~code.str[:2].isin(divisions),
            rows,
            source,
            lambda i: f"{level[i]} {code[i]}: its division {code[i][:2]} is not in this table",
        )
        return parent.astype(object).where(~is_section, None)

    @staticmethod
    def _derive_groups_and_classes(table: pd.DataFrame) -> pd.DataFrame:
        """Groups (``01.1``) and classes (``01.11``) the table lacks, from subclass codes.

        Their title stays unknown; the chain becomes subclass -> class -> group -> division.
        """
        subclasses = table["level"] == Level.SUBCLASS
        sub = table[subclasses]
        known = set(table["code"])
        derived = []
        for level, parent_level in ((Level.GROUP, Level.DIVISION), (Level.CLASS, Level.GROUP)):
            codes = sub["code"].str[: _PREFIX[level]].drop_duplicates()
            codes = codes[~codes.isin(known)]
            derived.append(
                pd.DataFrame(
                    {
                        "code": codes,
                        "level": level,
                        "title": None,
                        "parent": codes.str[: _PREFIX[parent_level]],
                    }
                )
            )
        table = table.assign(parent=table["parent"].where(~subclasses, table["code"].str[:5]))
        return pd.concat([table, *derived], ignore_index=True)

    @classmethod
    def _from_parts(cls, table: pd.DataFrame, name: str, quirks: list[str]) -> Nomenclature:
        """The dictionaries of a checked ``code, level, title, parent`` frame (first wins)."""
        table = table.drop_duplicates("code")
        codes = table["code"].astype(str).tolist()
        parents = [p if isinstance(p, str) else None for p in table["parent"]]
        return cls(
            name,
            titles=dict(zip(codes, table["title"], strict=True)),
            parents=dict(zip(codes, parents, strict=True)),
            levels=dict(zip(codes, map(Level, table["level"]), strict=True)),
            quirks=quirks,
        )

    def counts(self) -> dict[Level, int]:
        """How many codes this table holds at each level."""
        return {level: len(self.codes(level)) for level in Level}

    def check_counts(self, expected: BuiltinTable | None, source: str | None = None) -> None:
        """Every table needs sections, divisions and subclasses; a built-in one, its
        published counts at every level."""
        counts = self.counts()
        where = expected.filename if expected else (source or self.name)
        for level in (Level.SECTION, Level.DIVISION, Level.SUBCLASS):
            if counts[level] == 0:
                raise TableIntegrityError(where, f"no {level} at all: not a full nomenclature")
        for level, wanted in (expected.counts if expected else {}).items():
            if counts[Level(level)] != wanted:
                raise TableIntegrityError(
                    where,
                    f"{counts[Level(level)]} {level} codes where {expected.edition} has "
                    f"{wanted} (PROVENANCE.md): the packaged table is damaged",
                )

    # -- queries ---------------------------------------------------------------------------
    @property
    def subclasses(self) -> list[str]:
        return self.codes(Level.SUBCLASS)

    def codes(self, level: Level) -> list[str]:
        return sorted(c for c, lv in self.levels.items() if lv is level)

    def __len__(self) -> int:
        return sum(1 for lv in self.levels.values() if lv is Level.SUBCLASS)

    def __contains__(self, code: object) -> bool:
        """True for a subclass of this nomenclature (any spelling: ``6201Z``, ``62.01z``)."""
        try:
            return self.levels.get(normalize_code(str(code))) is Level.SUBCLASS
        except ValueError:
            return False

    def validate(self, code: str) -> str:
        """The canonical code; UnknownCodeError if this nomenclature lacks it."""
        canonical = normalize_code(code)
        if canonical in self.gaps:
            raise UnknownCodeError(
                f"{canonical} is not in {self.name}: {self.gaps[canonical]} (a known gap)."
            )
        if canonical not in self.levels:
            raise UnknownCodeError(
                f"{canonical} is not in {self.name} "
                f"(a well-formed {level_of(canonical)} code that this table does not list)."
            )
        return canonical

    def title(self, code: str) -> str | None:
        try:
            return self.titles.get(normalize_code(code))
        except ValueError:
            return None

    def level(self, code: str) -> Level:
        return self.levels[self.validate(code)]

    def parent(self, code: str) -> str | None:
        return self.parents[self.validate(code)]

    def ancestors(self, code: str) -> dict[Level, str]:
        """The code and every ancestor, by level: ``{SECTION: 'J', ..., SUBCLASS: '62.01Z'}``."""
        current: str | None = self.validate(code)
        chain: dict[Level, str] = {}
        while current is not None:
            level = self.levels[current]
            if level in chain:  # a malformed table with a parent cycle
                raise UnknownCodeError(f"{code}: its parent chain in {self.name} loops.")
            chain[level] = current
            current = self.parents.get(current)
        return chain

    def truncate(self, code: str, level: Level) -> str:
        chain = self.ancestors(code)
        if level not in chain:
            raise UnknownCodeError(f"{normalize_code(code)} has no {level} in {self.name}.")
        return chain[level]

    def levels_table(self) -> pa.Table:
        """One row per subclass with its class, group, division and section (for joins)."""
        rows = [self.ancestors(c) for c in self.subclasses]
        return pa.table(
            {
                "subclass": [r[Level.SUBCLASS] for r in rows],
                "class": [r.get(Level.CLASS) for r in rows],
                "group": [r.get(Level.GROUP) for r in rows],
                "division": [r.get(Level.DIVISION) for r in rows],
                "section": [r.get(Level.SECTION) for r in rows],
                "subclass_title": [self.titles.get(r[Level.SUBCLASS]) for r in rows],
                "section_title": [self.titles.get(r.get(Level.SECTION, "")) for r in rows],
            }
        )

    def division_sections(self) -> pa.Table:
        """``division`` -> ``section`` (a code's section is its division's parent)."""
        divisions = self.codes(Level.DIVISION)
        return pa.table(
            {"division": divisions, "section": [self.parent(d) for d in divisions]},
            schema=pa.schema([("division", pa.string()), ("section", pa.string())]),
        )

    def tree(self) -> list[dict[str, Any]]:
        """Section > division > subclass, for a Label Studio taxonomy."""
        children: dict[str | None, list[str]] = {}
        for code in self.subclasses:
            chain = self.ancestors(code)
            division = chain.get(Level.DIVISION)
            children.setdefault(division, []).append(code)
        sections: dict[str, list[str]] = {}
        for division in sorted(d for d in children if d):
            sections.setdefault(self.parents.get(division) or "?", []).append(division)
        return [
            {
                "code": s,
                "title": self.titles.get(s),
                "children": [
                    {
                        "code": d,
                        "title": self.titles.get(d),
                        "children": [{"code": c, "title": self.titles.get(c)} for c in children[d]],
                    }
                    for d in divisions
                ],
            }
            for s, divisions in sorted(sections.items())
        ]


@lru_cache(maxsize=len(NOMENCLATURES))
def _load_builtin(edition: str) -> Nomenclature:
    """Read and check a packaged table once per process (callers get copies)."""
    table = NOMENCLATURES[edition]
    with resources.as_file(data_file(table.filename)) as path:
        nomenclature = Nomenclature.from_path(path, name=f"{table.edition} (Insee)")
    nomenclature.check_counts(table)
    if edition == "naf2025":
        nomenclature.gaps = dict(NAF2025_GAPS)
    return nomenclature
