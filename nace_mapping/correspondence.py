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

from nace_mapping.codes import Level, level_of, normalize_code
from nace_mapping.errors import CorrespondenceFormatError, InvalidCodeError, UnknownCodeError
from nace_mapping.nomenclature import Nomenclature, read_table_file

_LAYOUTS = [
    {
        "old": "NAFold-code",
        "old_title": "NAFold-intitul",
        "new": "NAFnew-code",
        "new_title": "NAFnew-intitul",
    },
    {"old": "naf_rev2", "old_title": "label_rev2", "new": "naf_2025", "new_title": "label_2025"},
]


def _find(columns: list[str], prefix: str) -> str | None:
    wanted = prefix.lower()
    for column in columns:
        flat = " ".join(str(column).split()).lower()
        if flat.startswith(wanted):
            return column
    return None


@dataclass
class Correspondence:
    """Pairs (old subclass, new subclass), possibly many-to-many."""

    pairs: pd.DataFrame = field(repr=False)  # old_code, new_code, old_title, new_title
    duplicates_dropped: int = 0

    @classmethod
    def builtin_sample(cls) -> Correspondence:
        """A small SAMPLE of the official table shipped with the package (demos, tests)."""
        name = "sample_naf2008_to_naf2025.csv"
        with resources.as_file(resources.files("nace_mapping") / "data" / name) as path:
            return cls.from_path(path)

    @classmethod
    def from_path(
        cls, path: str | Path, old: Nomenclature | None = None, new: Nomenclature | None = None
    ) -> Correspondence:
        frame = read_table_file(path)
        columns = list(frame.columns)
        for layout in _LAYOUTS:
            found = {key: _find(columns, prefix) for key, prefix in layout.items()}
            if found["old"] and found["new"]:
                break
        else:
            raise CorrespondenceFormatError(
                f"{path}: no old/new code columns. Expected Insee's layout (NAFold-code, "
                "NAFold-intitulé, NAFnew-code, NAFnew-intitulé) or naf_rev2/naf_2025; "
                f"found {[' '.join(str(c).split()) for c in columns]}."
            )
        pairs = pd.DataFrame(
            {
                "old_code": frame[found["old"]],
                "new_code": frame[found["new"]],
                "old_title": frame[found["old_title"]] if found["old_title"] else None,
                "new_title": frame[found["new_title"]] if found["new_title"] else None,
            }
        )
        return cls.from_pairs(pairs, old=old, new=new, source=str(path))

    @classmethod
    def from_pairs(
        cls,
        pairs: pd.DataFrame,
        *,
        old: Nomenclature | None = None,
        new: Nomenclature | None = None,
        source: str = "pairs",
    ) -> Correspondence:
        pairs = pairs.dropna(subset=["old_code", "new_code"])
        pairs = pairs[(pairs["old_code"].str.strip() != "") & (pairs["new_code"].str.strip() != "")]
        try:
            pairs = pairs.assign(
                old_code=pairs["old_code"].map(normalize_code),
                new_code=pairs["new_code"].map(normalize_code),
            )
        except InvalidCodeError as err:
            raise CorrespondenceFormatError(f"{source}: {err}") from err
        for column in ("old_code", "new_code"):
            wrong = [c for c in pairs[column].unique() if level_of(c) is not Level.SUBCLASS]
            if wrong:
                raise CorrespondenceFormatError(
                    f"{source}: {column} must hold subclasses; found {wrong[:5]}."
                )
        for nomenclature, column in ((old, "old_code"), (new, "new_code")):
            if nomenclature is not None:
                unknown = [c for c in pairs[column].unique() if c not in nomenclature]
                if unknown:
                    raise UnknownCodeError(
                        f"{source}: {len(unknown)} {column} values are not in "
                        f"{nomenclature.name}, e.g. {unknown[:5]}."
                    )
        before = len(pairs)
        pairs = pairs.drop_duplicates(subset=["old_code", "new_code"]).reset_index(drop=True)
        for column in ("old_title", "new_title"):
            pairs[column] = pairs[column].map(
                lambda t: " ".join(str(t).split()) if isinstance(t, str) else None
            )
        return cls(pairs=pairs, duplicates_dropped=before - len(pairs))

    # -- queries ---------------------------------------------------------------------------
    def _targets(self) -> pd.Series:
        return self.pairs.groupby("old_code")["new_code"].apply(sorted)

    def candidates(self, old: str) -> list[str]:
        code = normalize_code(old)
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
