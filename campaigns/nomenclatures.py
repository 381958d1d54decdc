"""The nomenclatures and correspondence a deployment uses, loaded once from the settings.

Unset settings mean the official Insee tables shipped with ``nace_mapping`` (see
``nace_mapping/data/PROVENANCE.md``); each setting overrides its own table. A table that cannot
be read or fails its integrity checks becomes a ``ConfigurationError`` naming the setting, so
the CLI and the API say which variable to fix instead of showing a traceback.
"""

from __future__ import annotations

from functools import lru_cache

from campaigns.config import Settings
from campaigns.errors import ConfigurationError
from nace_mapping import Correspondence, NaceMappingError, Nomenclature

_SETTINGS = {
    "naf2008": "CAMPAIGNS_NOMENCLATURE",
    "naf2025": "CAMPAIGNS_NEW_NOMENCLATURE",
    "correspondence": "CAMPAIGNS_CORRESPONDENCE",
}


def _configuration_error(table: str, path: str, err: Exception) -> ConfigurationError:
    variable = _SETTINGS[table]
    return ConfigurationError(
        f"The table {variable}={path} cannot be used: {err}",
        f"Fix the file, or unset {variable} to use the built-in official table.",
    )


@lru_cache(maxsize=8)
def _nomenclature(path: str | None, edition: str) -> Nomenclature:
    if not path:
        return Nomenclature.builtin(edition)
    try:
        return Nomenclature.from_path(path)
    except (NaceMappingError, OSError) as err:
        raise _configuration_error(edition, path, err) from err


@lru_cache(maxsize=4)
def _correspondence(path: str | None, old_path: str | None, new_path: str | None) -> Correspondence:
    """The correspondence, checked against the nomenclatures the deployment uses."""
    old, new = _nomenclature(old_path, "naf2008"), _nomenclature(new_path, "naf2025")
    if path:
        try:
            return Correspondence.from_path(path, old=old, new=new)
        except (NaceMappingError, OSError) as err:
            raise _configuration_error("correspondence", path, err) from err
    try:
        return Correspondence.builtin(old=old, new=new)
    except NaceMappingError as err:  # only a configured nomenclature can make it fail
        raise ConfigurationError(
            f"The built-in NAF rév.2 -> NAF 2025 correspondence does not fit the configured "
            f"nomenclatures: {err}",
            "Set CAMPAIGNS_CORRESPONDENCE to the correspondence between the editions set in "
            "CAMPAIGNS_NOMENCLATURE / CAMPAIGNS_NEW_NOMENCLATURE, or unset those.",
        ) from err


def old_nomenclature(settings: Settings) -> Nomenclature:
    """NAF rév.2 (NACE Rev.2): the model's current codes. Built-in official table by default."""
    return _nomenclature(settings.nomenclature, "naf2008")


def new_nomenclature(settings: Settings) -> Nomenclature:
    """NAF 2025 (NACE Rev.2.1). Built-in official table by default."""
    return _nomenclature(settings.new_nomenclature, "naf2025")


def correspondence(settings: Settings) -> Correspondence:
    """NAF rév.2 -> NAF 2025, every code checked against the two nomenclatures above."""
    return _correspondence(
        settings.correspondence, settings.nomenclature, settings.new_nomenclature
    )
