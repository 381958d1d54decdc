"""NACE / NAF nomenclatures and the Rev.2 -> Rev.2.1 correspondence.

Imports nothing from the rest of the project. The official Insee tables ship with the package
(``data/``, see ``data/PROVENANCE.md``): ``Nomenclature.builtin("naf2008")``,
``Nomenclature.builtin("naf2025")`` and ``Correspondence.builtin()``; other editions load from a
path or URL. Every table is checked at load, and every error derives from ``NaceMappingError``.

The names below are loaded on first use (PEP 562): importing ``nace_mapping.errors`` alone,
as the API and the CLI do at start, does not load pandas and DuckDB.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nace_mapping.codes import Level, level_of, normalize_code, truncate_code
    from nace_mapping.correspondence import Correspondence
    from nace_mapping.errors import (
        CorrespondenceFormatError,
        InvalidCodeError,
        MissingColumnError,
        NaceMappingError,
        TableIntegrityError,
        TableNotFoundError,
        UnknownCodeError,
    )
    from nace_mapping.nomenclature import Nomenclature
    from nace_mapping.recode import RecodeResult, recode_parquet, recode_table
    from nace_mapping.text import clean_title

_HOMES = {
    "Level": "codes",
    "level_of": "codes",
    "normalize_code": "codes",
    "truncate_code": "codes",
    "Correspondence": "correspondence",
    "CorrespondenceFormatError": "errors",
    "InvalidCodeError": "errors",
    "MissingColumnError": "errors",
    "NaceMappingError": "errors",
    "TableIntegrityError": "errors",
    "TableNotFoundError": "errors",
    "UnknownCodeError": "errors",
    "Nomenclature": "nomenclature",
    "RecodeResult": "recode",
    "recode_parquet": "recode",
    "recode_table": "recode",
    "clean_title": "text",
}

__all__ = [
    "Correspondence",
    "CorrespondenceFormatError",
    "InvalidCodeError",
    "Level",
    "MissingColumnError",
    "NaceMappingError",
    "Nomenclature",
    "RecodeResult",
    "TableIntegrityError",
    "TableNotFoundError",
    "UnknownCodeError",
    "clean_title",
    "level_of",
    "normalize_code",
    "recode_parquet",
    "recode_table",
    "truncate_code",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'nace_mapping' has no attribute {name!r}")
    value = getattr(import_module(f"nace_mapping.{home}"), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
