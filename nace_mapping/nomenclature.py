"""A nomenclature (NAF rév.2, NAF 2025...): every code with its title, level and parents.

Reads the tables statistics offices publish, from a path or a URL: the 5-level layout
(``NIV1``..``NIV5`` with ``LIB_NIV1``..``LIB_NIV5``) and the section/division/subclass layout
(``level, code, title, parent``), as CSV or XLSX. Groups and classes missing from a table are
derived from the subclass codes (their title then stays unknown).
"""

from __future__ import annotations

import tempfile
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from nace_mapping.codes import Level, level_of, normalize_code
from nace_mapping.errors import CorrespondenceFormatError, UnknownCodeError

BUILTIN = {
    "naf2008": ("sample_naf2008_5_levels.csv", "NAF rév.2 (built-in SAMPLE)"),
    "naf2025": ("sample_naf2025.csv", "NAF 2025 (built-in SAMPLE)"),
}


def _clean_title(title: Any) -> str | None:
    if title is None or (isinstance(title, float) and pd.isna(title)):
        return None
    text = " ".join(str(title).split())
    return text or None


def read_table_file(path_or_url: str | Path) -> pd.DataFrame:
    """A CSV or XLSX file as strings (codes like ``01`` keep their leading zero)."""
    source = str(path_or_url)
    if source.startswith(("http://", "https://")):
        suffix = Path(source.split("?")[0]).suffix or ".csv"
        with urllib.request.urlopen(source, timeout=60) as response:
            data = response.read()
        with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as handle:
            handle.write(data)
        source = handle.name
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"No nomenclature file at {path_or_url}.")
    if path.suffix.lower() in (".xlsx", ".xls"):
        return pd.read_excel(path, dtype=str)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@dataclass
class Nomenclature:
    """Codes of every level, their titles and parents."""

    name: str
    titles: dict[str, str | None] = field(repr=False)
    parents: dict[str, str | None] = field(repr=False)
    levels: dict[str, Level] = field(repr=False)
    quirks: list[str] = field(default_factory=list)
    """Rows the loader had to correct (e.g. a section listed as a subclass)."""

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def builtin_sample(cls, version: str = "naf2008") -> Nomenclature:
        """A small SAMPLE shipped with the package, for demos and tests only."""
        if version not in BUILTIN:
            raise ValueError(f"Unknown built-in nomenclature {version!r}: naf2008 or naf2025.")
        filename, name = BUILTIN[version]
        with resources.as_file(resources.files("nace_mapping") / "data" / filename) as path:
            return cls.from_path(path, name=name)

    @classmethod
    def from_path(cls, path_or_url: str | Path, name: str | None = None) -> Nomenclature:
        frame = read_table_file(path_or_url)
        columns = set(frame.columns)
        label = name or Path(str(path_or_url)).stem
        if {"NIV1", "NIV2", "NIV5"} <= columns:
            return cls._from_five_levels(frame, label)
        if {"level", "code", "title", "parent"} <= columns:
            return cls._from_level_rows(frame, label)
        raise CorrespondenceFormatError(
            f"{path_or_url} is not a nomenclature table: expected columns NIV1..NIV5 "
            f"(+ LIB_NIV1..LIB_NIV5) or level, code, title, parent; found {sorted(columns)}."
        )

    @classmethod
    def _from_five_levels(cls, frame: pd.DataFrame, name: str) -> Nomenclature:
        titles: dict[str, str | None] = {}
        parents: dict[str, str | None] = {}
        levels: dict[str, Level] = {}
        chain = [
            (Level.SECTION, "NIV1"),
            (Level.DIVISION, "NIV2"),
            (Level.GROUP, "NIV3"),
            (Level.CLASS, "NIV4"),
            (Level.SUBCLASS, "NIV5"),
        ]
        for record in frame.to_dict("records"):
            parent: str | None = None
            for level, column in chain:
                if column not in record or not record[column]:
                    continue
                code = normalize_code(record[column])
                levels[code] = level
                titles.setdefault(code, _clean_title(record.get(f"LIB_{column}")))
                parents[code] = parent
                parent = code
        return cls(name, titles, parents, levels)

    @classmethod
    def _from_level_rows(cls, frame: pd.DataFrame, name: str) -> Nomenclature:
        titles: dict[str, str | None] = {}
        parents: dict[str, str | None] = {}
        levels: dict[str, Level] = {}
        quirks: list[str] = []
        for record in frame.to_dict("records"):
            code = normalize_code(record["code"])
            levels[code] = level_of(code)
            if record["level"] != levels[code].value:
                quirks.append(
                    f"{code} is listed as a {record['level']} but is a {levels[code]}: "
                    f"kept as a {levels[code]}"
                )
            titles[code] = _clean_title(record["title"])
            parents[code] = normalize_code(record["parent"]) if record["parent"] else None
        # Derive the missing group and class levels from subclass codes.
        for code in [c for c, lv in levels.items() if lv is Level.SUBCLASS]:
            division = parents[code]
            group, klass = code[:4], code[:5]
            levels.setdefault(group, Level.GROUP)
            levels.setdefault(klass, Level.CLASS)
            titles.setdefault(group, None)
            titles.setdefault(klass, None)
            parents[group] = division
            parents[klass] = group
            parents[code] = klass
        return cls(name, titles, parents, levels, quirks)

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
