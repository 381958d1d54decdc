"""Errors of the nomenclature package: each says what is wrong and what to do.

Every error derives from ``NaceMappingError`` so a caller (the CLI, the API, the campaign layer
turning them into configuration errors) catches the package's failures in one clause. The base
is a ``ValueError`` because callers written before it existed catch that.
"""

from __future__ import annotations


class NaceMappingError(ValueError):
    """Base class of every error raised by ``nace_mapping``; ``str(err)`` is one line."""

    def __str__(self) -> str:
        # KeyError (a base of MissingColumnError) would quote the message: keep it plain.
        return str(self.args[0]) if self.args else self.__class__.__name__


class InvalidCodeError(NaceMappingError):
    """A string that is not a NACE/NAF code at all (wrong syntax)."""


class UnknownCodeError(NaceMappingError):
    """A well-formed code that the nomenclature (or correspondence) does not contain."""


class CorrespondenceFormatError(NaceMappingError):
    """A correspondence or nomenclature file that cannot be read as one (columns, layout)."""


class TableIntegrityError(NaceMappingError):
    """A table read fine but whose content contradicts itself or its nomenclature.

    One error per broken table, naming the file and the first broken row (spreadsheet
    numbering: the header is row 1), so the user can open the file at that row.
    """

    def __init__(self, source: str, problem: str, row: int | None = None, more: int = 0) -> None:
        where = f"{source}, row {row}" if row is not None else source
        extra = f" ({more} more row{'s' if more > 1 else ''} with the same problem)" if more else ""
        super().__init__(f"{where}: {problem}{extra}")
        self.source = source
        self.row = row
        self.problem = problem


class TableNotFoundError(NaceMappingError, FileNotFoundError):
    """No table at the path given (still a ``FileNotFoundError`` for older callers)."""


class MissingColumnError(NaceMappingError, KeyError):
    """The rows to recode lack the code column named (still a ``KeyError`` for older callers)."""
