"""Errors of the nomenclature package: each says what is wrong and what to do."""

from __future__ import annotations


class InvalidCodeError(ValueError):
    """A string that is not a NACE/NAF code at all (wrong syntax)."""


class UnknownCodeError(ValueError):
    """A well-formed code that the nomenclature (or correspondence) does not contain."""


class CorrespondenceFormatError(ValueError):
    """A correspondence or nomenclature file that cannot be read as one."""
