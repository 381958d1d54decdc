"""NACE / NAF nomenclatures and the Rev.2 -> Rev.2.1 correspondence.

Imports nothing from the rest of the project. The built-in tables are small SAMPLES for demos
and tests; production loads the official tables from a path or URL.
"""

from nace_mapping.codes import Level, level_of, normalize_code, truncate_code
from nace_mapping.correspondence import Correspondence
from nace_mapping.errors import CorrespondenceFormatError, InvalidCodeError, UnknownCodeError
from nace_mapping.nomenclature import Nomenclature
from nace_mapping.recode import RecodeResult, recode_parquet, recode_table

__all__ = [
    "Correspondence",
    "CorrespondenceFormatError",
    "InvalidCodeError",
    "Level",
    "Nomenclature",
    "RecodeResult",
    "UnknownCodeError",
    "level_of",
    "normalize_code",
    "recode_parquet",
    "recode_table",
    "truncate_code",
]
