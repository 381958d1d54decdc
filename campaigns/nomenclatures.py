"""The nomenclatures and correspondence a deployment uses, loaded once from the settings."""

from __future__ import annotations

from functools import lru_cache

from campaigns.config import Settings
from nace_mapping import Correspondence, Nomenclature


@lru_cache(maxsize=8)
def _nomenclature(path: str | None, builtin: str) -> Nomenclature:
    return Nomenclature.from_path(path) if path else Nomenclature.builtin_sample(builtin)


@lru_cache(maxsize=4)
def _correspondence(path: str | None) -> Correspondence:
    return Correspondence.from_path(path) if path else Correspondence.builtin_sample()


def old_nomenclature(settings: Settings) -> Nomenclature:
    """NAF rév.2 (NACE Rev.2): the model's current codes. Built-in sample unless configured."""
    return _nomenclature(settings.nomenclature, "naf2008")


def new_nomenclature(settings: Settings) -> Nomenclature:
    """NAF 2025 (NACE Rev.2.1). Built-in sample unless configured."""
    return _nomenclature(settings.new_nomenclature, "naf2025")


def correspondence(settings: Settings) -> Correspondence:
    return _correspondence(settings.correspondence)
