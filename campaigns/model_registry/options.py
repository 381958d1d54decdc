"""The registry's settings, read from :class:`campaigns.config.Settings` (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from campaigns.config import Settings

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class RegistryOptions:
    """Where MLflow is and how a logged ``model_version`` finds its registered version."""

    tracking_uri: str
    experiment: str
    model_name: str | None
    version_match: Literal["name_version", "run_id"]
    timeout: float
    username: str | None = None
    password: str | None = None
    token: str | None = None

    def run_url(self, experiment_id: str, run_id: str) -> str:
        """The run's page in the MLflow UI."""
        return f"{self.tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"

    def version_url(self, name: str, version: str) -> str:
        from urllib.parse import quote

        return f"{self.tracking_uri.rstrip('/')}/#/models/{quote(name, safe='')}/versions/{version}"

    def registered_version(self, model_version: str) -> VersionRef | None:
        """Which registered version a logged ``model_version`` names, or None if it cannot.

        ``name_version``: ``NAME/VERSION`` (or ``models:/NAME/VERSION``) names both; a bare
        version is one of ``CAMPAIGNS_MLFLOW_MODEL_NAME``'s. ``run_id``: the version is the
        one registered from that MLflow run (a 32-hex-digit run id).
        """
        value = model_version.strip()
        if self.version_match == "run_id":
            return VersionRef(run_id=value) if _RUN_ID.match(value) else None
        value = value.removeprefix("models:/")
        if "/" in value:
            name, _, version = value.rpartition("/")
        else:
            name, version = self.model_name or "", value
        if not name or not version.isdigit():
            return None
        return VersionRef(name=name, version=version)


@dataclass(frozen=True)
class VersionRef:
    """A registered model version to look up: by name and version, or by its source run."""

    name: str | None = None
    version: str | None = None
    run_id: str | None = None

    def describe(self) -> str:
        if self.run_id is not None:
            return f"the version registered from run {self.run_id}"
        return f"{self.name} version {self.version}"


def registry_options(settings: Settings) -> RegistryOptions | None:
    """The registry's options, or None when ``CAMPAIGNS_MLFLOW_TRACKING_URI`` is unset (off)."""
    if not settings.mlflow_tracking_uri:
        return None
    return RegistryOptions(
        tracking_uri=settings.mlflow_tracking_uri,
        experiment=settings.mlflow_experiment,
        model_name=settings.mlflow_model_name,
        version_match=settings.mlflow_version_match,
        timeout=settings.mlflow_timeout,
        username=settings.mlflow_tracking_username,
        password=(
            settings.mlflow_tracking_password.get_secret_value()
            if settings.mlflow_tracking_password
            else None
        ),
        token=(
            settings.mlflow_tracking_token.get_secret_value()
            if settings.mlflow_tracking_token
            else None
        ),
    )
