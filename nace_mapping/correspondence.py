"""The correspondence NAF rév.2 -> NAF 2025 (NACE Rev.2 -> Rev.2.1): old code -> new codes.

An old code with one new code is *univocal* (recoded automatically); with several, it is
*multivocal* (an expert chooses among its candidates). Reads Insee's published layout (headers
``NAFold-code ...``, ``NAFnew-code ...``, possibly long and with line breaks: matched by
prefix), the same four short column names in a plain CSV, or the ``naf_rev2 / naf_2025`` CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
import pyarrow as pa

from nace_mapping.builtin import CORRESPONDENCE, data_file
from nace_mapping.codes import Level, level_of, normalize_code, parse_codes
from nace_mapping.errors import CorrespondenceFormatError, TableIntegrityError, UnknownCodeError
from nace_mapping.nomenclature import (
    Nomenclature,
    fail_at_first,
    read_table_file,
    source_name,
    spreadsheet_rows,
)
from nace_mapping.text import clean_titles

_LAYOUTS = [
    {
        "old": "NAFold-code",
        "old_title": "NAFold-intitul",
        "new": "NAFnew-code",
        "new_title": "NAFnew-intitul",
    },
    {"old": "naf_rev2", "old_title": "label_rev2", "new": "naf_2025", "new_title": "label_2025"},
]
_SIDES = (("old_code", "old"), ("new_code", "new"))


def _find(columns: list[str], prefix: str) -> str | None:
    wanted = prefix.lower()
    for column in columns:
        flat = " ".join(str(column).split()).lower()
        if flat.startswith(wanted):
            return column
    return None


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype("string").str.strip() == "")


@dataclass
class Correspondence:
    """Pairs (old subclass, new subclass), possibly many-to-many."""

    pairs: pd.DataFrame = field(repr=False)  # old_code, new_code, old_title, new_title, row
    duplicates_dropped: int = 0
    source: str = "pairs"
    quirks: list[str] = field(default_factory=list)
    """Codes kept although a nomenclature lacks them, because that table has a known gap."""

    @classmethod
    def builtin(
        cls, old: Nomenclature | None = None, new: Nomenclature | None = None
    ) -> Correspondence:
        """Insee's official table (January 2026 edition), shipped with the package.

        Its codes are checked against ``old`` and ``new`` (by default the built-in NAF rév.2
        and NAF 2025), and its counts against the published ones (``data/PROVENANCE.md``).
        """
        old = old if old is not None else Nomenclature.builtin("naf2008")
        new = new if new is not None else Nomenclature.builtin("naf2025")
        with resources.as_file(data_file(CORRESPONDENCE.filename)) as path:
            correspondence = cls.from_path(path, old=old, new=new)
        correspondence.check_counts()
        return correspondence

    @classmethod
    def from_path(
        cls, path: str | Path, old: Nomenclature | None = None, new: Nomenclature | None = None
    ) -> Correspondence:
        """Read Insee's layout (XLS/XLSX/CSV) or the plain CSV; errors name file and row."""
        frame = read_table_file(path)
        columns = list(frame.columns)
        for layout in _LAYOUTS:
            found = {key: _find(columns, prefix) for key, prefix in layout.items()}
            if found["old"] and found["new"]:
                break
        else:
            raise CorrespondenceFormatError(
                f"{source_name(path)}: no old/new code columns. Expected Insee's layout "
                "(NAFold-code, NAFold-intitulé, NAFnew-code, NAFnew-intitulé) or "
                f"naf_rev2/naf_2025; found {[' '.join(str(c).split()) for c in columns]}."
            )
        pairs = pd.DataFrame(
            {
                "old_code": frame[found["old"]],
                "new_code": frame[found["new"]],
                "old_title": frame[found["old_title"]] if found["old_title"] else None,
                "new_title": frame[found["new_title"]] if found["new_title"] else None,
                "row": spreadsheet_rows(frame),
            }
        )
        return cls.from_pairs(pairs, old=old, new=new, source=source_name(path))

    @classmethod
    def from_pairs(
        cls,
        pairs: pd.DataFrame,
        *,
        old: Nomenclature | None = None,
        new: Nomenclature | None = None,
        source: str = "pairs",
    ) -> Correspondence:
        """Pairs ``old_code, new_code`` (+ titles); ``row`` numbers them for error messages
        (default: as in a CSV written from the frame, the header being row 1)."""
        pairs = pairs.reset_index(drop=True)
        if "row" not in pairs:
            pairs = pairs.assign(row=spreadsheet_rows(pairs))
        for column in ("old_title", "new_title"):
            if column not in pairs:
                pairs = pairs.assign(**{column: None})
        pairs = cls._checked_codes(pairs, source)
        correspondence = cls._deduplicated(pairs, source)
        return correspondence.check_against(old, new)

    @staticmethod
    def _checked_codes(pairs: pd.DataFrame, source: str) -> pd.DataFrame:
        """Codes normalised; a half-empty row, a malformed code or a code that is not a
        subclass is an error at its row (fully empty rows, e.g. a sheet's tail, are skipped)."""
        old_blank, new_blank = _blank(pairs["old_code"]), _blank(pairs["new_code"])
        pairs = pairs[~(old_blank & new_blank)]
        rows = pairs["row"]
        for column, side in _SIDES:
            other = "new_code" if column == "old_code" else "old_code"
            raw = pairs[column].fillna("").astype(str)
            fail_at_first(
                _blank(pairs[column]),
                rows,
                source,
                lambda i, raw=pairs[other], side=side: (
                    f"{side} code is empty (the other side is {raw[i]!r})"
                ),
            )
            parsed = parse_codes(raw)
            fail_at_first(
                parsed["code"].isna(),
                rows,
                source,
                lambda i, raw=raw, side=side: f"{side} code {raw[i]!r} is not a NACE/NAF code",
            )
            fail_at_first(
                parsed["level"] != Level.SUBCLASS,
                rows,
                source,
                lambda i, raw=raw, side=side: f"{side} code {raw[i]!r} is not a subclass",
            )
            pairs = pairs.assign(**{column: parsed["code"].astype(object)})
        return pairs

    @classmethod
    def _deduplicated(cls, pairs: pd.DataFrame, source: str) -> Correspondence:
        """A pair listed twice says nothing more: dropped, and counted."""
        before = len(pairs)
        pairs = pairs.drop_duplicates(subset=["old_code", "new_code"]).reset_index(drop=True)
        pairs = pairs.assign(
            old_title=clean_titles(pairs["old_title"]), new_title=clean_titles(pairs["new_title"])
        )
        return cls(pairs=pairs, duplicates_dropped=before - len(pairs), source=source)

    def check_against(
        self, old: Nomenclature | None = None, new: Nomenclature | None = None
    ) -> Correspondence:
        """Every old code must be in ``old``, every new code in ``new`` (when given).

        A code the nomenclature lists as a known gap of its table (NAF 2025's 99.00Y) is
        kept and reported in ``quirks``; any other is an error at its row.
        """
        for (column, side), nomenclature in zip(_SIDES, (old, new), strict=True):
            if nomenclature is None:
                continue
            codes = self.pairs[column]
            known = codes.isin(set(nomenclature.subclasses))
            gap = codes.isin(set(nomenclature.gaps))
            fail_at_first(
                ~known & ~gap,
                self.pairs["row"],
                self.source,
                lambda i, codes=codes, side=side, name=nomenclature.name: (
                    f"{side} code {codes[i]!r} is not a subclass of {name}"
                ),
            )
            found = [
                f"{side} code {code} (row {row}) is kept although {nomenclature.name} lacks "
                f"it: {nomenclature.gaps[code]}"
                for code, row in zip(codes[gap], self.pairs["row"][gap], strict=True)
            ]
            self.quirks = list(dict.fromkeys([*self.quirks, *found]))  # idempotent
        return self

    def check_counts(self) -> None:
        """The built-in table must hold the published number of pairs and of old codes."""
        counts = {
            "pairs": len(self.pairs),
            "univocal": len(self.univocal_codes()),
            "multivocal": len(self.multivocal_codes()),
        }
        for what, wanted in CORRESPONDENCE.counts.items():
            if counts[what] != wanted:
                raise TableIntegrityError(
                    CORRESPONDENCE.filename,
                    f"{counts[what]} {what} where {CORRESPONDENCE.edition} has {wanted} "
                    "(PROVENANCE.md): the packaged table is damaged",
                )

    # -- queries ---------------------------------------------------------------------------
    def _targets(self) -> pd.Series:
        return self.pairs.groupby("old_code")["new_code"].apply(sorted)

    def candidates(self, old: str) -> list[str]:
        """The new subclasses of an old one, sorted; UnknownCodeError when it has none."""
        code = normalize_code(old)
        if level_of(code) is not Level.SUBCLASS:
            raise UnknownCodeError(
                f"{code} is a {level_of(code)}: the correspondence maps subclasses "
                f"(such as {self.pairs['old_code'].iloc[0]})."
            )
        found = sorted(self.pairs.loc[self.pairs["old_code"] == code, "new_code"])
        if not found:
            raise UnknownCodeError(f"{code} has no row in the correspondence table.")
        return found

    def is_univocal(self, old: str) -> bool:
        return len(self.candidates(old)) == 1

    def is_multivocal(self, old: str) -> bool:
        return len(self.candidates(old)) > 1

    def univocal_codes(self) -> list[str]:
        targets = self._targets()
        return sorted(targets[targets.map(len) == 1].index)

    def multivocal_codes(self) -> list[str]:
        targets = self._targets()
        return sorted(targets[targets.map(len) > 1].index)

    def sources(self, new: str) -> list[str]:
        """The old codes a new code comes from (empty when none: e.g. NAF 2025's 46.89Y)."""
        code = normalize_code(new)
        return sorted(self.pairs.loc[self.pairs["new_code"] == code, "old_code"])

    def target_title(self, new: str) -> str | None:
        rows = self.pairs.loc[self.pairs["new_code"] == normalize_code(new), "new_title"]
        return rows.iloc[0] if len(rows) else None

    def pairs_table(self) -> pa.Table:
        counts = self.pairs.groupby("old_code")["new_code"].transform("count")
        return pa.table(
            {
                "old_code": self.pairs["old_code"].tolist(),
                "new_code": self.pairs["new_code"].tolist(),
                "new_title": self.pairs["new_title"].tolist(),
                "n_targets": counts.astype("int64").tolist(),
                "is_multivocal": (counts > 1).tolist(),
            }
        )
