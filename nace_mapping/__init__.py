"""NACE / NAF nomenclatures and the Rev.2 -> Rev.2.1 correspondence.

Imports nothing from the rest of the project. The official Insee tables ship with the package
(``data/``, see ``data/PROVENANCE.md``): ``Nomenclature.builtin("naf2008")``,
``Nomenclature.builtin("naf2025")`` and ``Correspondence.builtin()``; other editions load from a
path or URL. Every table is checked at load, and every error derives from ``NaceMappingError``.
"""

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
