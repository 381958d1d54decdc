"""Settings, read once from the environment (prefix ``CAMPAIGNS_``) or a ``.env`` file.

Every secret is a ``SecretStr`` so that printing or logging the settings never shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CAMPAIGNS_"


class Settings(BaseSettings):
    """Where the campaign state, the traffic and Label Studio live."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite:///campaigns.db",
        description="SQLAlchemy URL of the campaign database (SQLite file or PostgreSQL).",
    )
    storage_root: str = Field(
        default="./data",
        description="Local directory or s3://bucket/prefix holding traffic, samples and exports.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint, e.g. http://127.0.0.1:9000 for MinIO."
    )
    s3_access_key_id: str | None = Field(default=None, description="S3 access key id.")
    s3_secret_access_key: SecretStr | None = Field(default=None, description="S3 secret key.")
    s3_region: str = Field(default="us-east-1", description="S3 region (MinIO accepts any).")

    label_studio_url: str = Field(
        default="http://127.0.0.1:8080", description="Base URL of the Label Studio server."
    )
    label_studio_token: SecretStr | None = Field(
        default=None, description="Label Studio API token (Account & Settings > Access Token)."
    )
    label_studio_timeout: float = Field(
        default=120.0, gt=0, description="Seconds before a Label Studio request times out."
    )

    ingest_max_line_bytes: int = Field(
        default=10_000_000,
        gt=0,
        description="Longest log line ingest reads, in bytes; a longer one is quarantined "
        "(its first bytes and length kept) instead of being held in memory.",
    )

    auto_coding_threshold: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="Confidence index at or above which a text is coded automatically.",
    )
    target_margin: float = Field(
        default=0.02,
        gt=0.0,
        lt=0.5,
        description="Target half-width of a gold campaign's 95% accuracy interval, for "
        "'campaigns progress' when neither --margin nor the sample's plan gives one.",
    )
    reuse_check_share: float = Field(
        default=0.1,
        gt=0.0,
        le=1.0,
        description="Share of the drawn units that could reuse an earlier gold label sent to "
        "experts anyway (seeded, at least one), so 'campaigns metrics' measures how often the "
        "reused label agrees with a fresh expert code.",
    )
    challenger_max_body_bytes: int = Field(
        default=20_000_000,
        ge=1_000,
        description="Largest answer 'campaigns compare --challenger-api' reads for one batch, "
        "in bytes; a larger one stops the comparison instead of filling the memory.",
    )
    challenger_batch_deadline: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a challenger classifier has to answer one batch in all (a slower "
        "answer is retried like a timeout).",
    )
    challenger_deadline: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds a challenger classifier has to answer every batch of one "
        "comparison; past it the comparison stops.",
    )
    nomenclature: str | None = Field(
        default=None,
        description="Path or URL of the nomenclature table (NAF rév.2 5-level CSV/XLSX). "
        "Unset: the built-in official NAF rév.2 (Insee, 732 subclasses).",
    )
    new_nomenclature: str | None = Field(
        default=None,
        description="Path or URL of the NAF 2025 (NACE Rev.2.1) table. "
        "Unset: the built-in official NAF 2025 (Insee, 746 subclasses).",
    )
    correspondence: str | None = Field(
        default=None,
        description="Path or URL of the NAF rév.2 -> NAF 2025 correspondence (Insee's XLS/CSV "
        "layout), checked against the two nomenclatures. Unset: the built-in official table "
        "(Insee, January 2026: 520 univocal, 212 multivocal old codes).",
    )
    context_legal_categories: str | None = Field(
        default=None,
        description="Path or URL of the legal-category (cj) titles shown to experts "
        "(env CAMPAIGNS_CONTEXT_LEGAL_CATEGORIES): a CSV with a code column and a "
        "libelle/title/label column, or a {code: title} JSON. Unset: the built-in Insee "
        "legal categories.",
    )
    context_activity_natures: str | None = Field(
        default=None,
        description="Path or URL of the activity-nature (activ_nat_et) titles shown to experts "
        "(env CAMPAIGNS_CONTEXT_ACTIVITY_NATURES): a {code: title} JSON or a code,title CSV; "
        "'/////////' titles count as missing. Unset: the built-in Sirene activity natures.",
    )
    language: Literal["fr", "en"] = Field(
        default="fr",
        description="Language of everything experts read in Label Studio (env "
        "CAMPAIGNS_LANGUAGE): 'fr' (default, the experts' language) or 'en'. Annotations "
        "store language-independent values, so exports read the same either way.",
    )
    candidate_notes: str | None = Field(
        default=None,
        description="Path of a CSV or Parquet table with columns code,note: the explanatory "
        "note ('comprend / ne comprend pas') of new codes, shown beside each candidate in "
        "transition tasks (env CAMPAIGNS_CANDIDATE_NOTES). Unset: titles only.",
    )
    label_studio_webhook_url: str | None = Field(
        default=None,
        description="URL at which Label Studio reaches this API's POST /webhooks/label-studio; "
        "set, every new campaign's project notifies it of annotations (unset: exports poll).",
    )
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token required by the campaign REST API."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret Label Studio's webhooks send to POST /webhooks/label-studio; it "
        "only starts exports (the API token is never stored in Label Studio). Required when "
        "CAMPAIGNS_API_TOKEN is set.",
    )
    api_max_body_bytes: int = Field(
        default=10_000_000,
        ge=1_000,
        description="Largest request body the REST API reads (413 beyond, before parsing).",
    )
    api_allow_open: bool = Field(
        default=False,
        description="Without CAMPAIGNS_API_TOKEN, let the API answer non-loopback clients "
        "(403 otherwise) and 'campaigns serve' listen on a non-loopback address: an open API, "
        "anyone on the network can act. Leave false.",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking server (e.g. https://mlflow.example.org). Set: metrics, "
        "compare, trend and the nightly run log an evaluation run per campaign and model "
        "version and tag the registered version; training sets are logged as datasets. "
        "Unset: nothing goes to MLflow.",
    )
    mlflow_tracking_username: str | None = Field(
        default=None, description="User of an MLflow server with basic authentication."
    )
    mlflow_tracking_password: SecretStr | None = Field(
        default=None, description="Password of that user."
    )
    mlflow_tracking_token: SecretStr | None = Field(
        default=None, description="Bearer token of an MLflow server that takes one."
    )
    mlflow_experiment: str = Field(
        default="annotation-campaigns",
        description="MLflow experiment of the evaluation and dataset runs (created if missing).",
    )
    mlflow_model_name: str | None = Field(
        default=None,
        description="Registered model whose versions the logs' model_version names (matched "
        "by name and version); a model_version 'NAME/VERSION' names its model itself.",
    )
    mlflow_version_match: Literal["name_version", "run_id"] = Field(
        default="name_version",
        description="How a logged model_version finds its registered version: 'name_version' "
        "(version number of CAMPAIGNS_MLFLOW_MODEL_NAME) or 'run_id' (the MLflow run that "
        "produced the version).",
    )
    mlflow_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds before an MLflow request (an artifact upload included) gives "
        "up; an unreachable server is a warning, never a failed command.",
    )

    def sqlite_path(self) -> Path | None:
        """The SQLite file behind ``database_url``, if it is one (to create its folder)."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :])
        return None


@dataclass(frozen=True)
class SettingRow:
    """One setting as ``campaigns settings`` shows it."""

    name: str
    env: str
    default: str
    current: str
    secret: bool
    description: str


def _shown(value: object) -> str:
    return "(unset)" if value is None else str(value)


def describe_settings(settings: Settings) -> list[SettingRow]:
    """Every setting with its environment variable, default and current value, secrets masked."""
    rows = []
    for name, info in Settings.model_fields.items():
        current = getattr(settings, name)
        secret = isinstance(current, SecretStr) or "SecretStr" in str(info.annotation)
        rows.append(
            SettingRow(
                name=name,
                env=f"{ENV_PREFIX}{name.upper()}",
                default=_shown(info.default),
                current=("********" if current is not None else "(unset)")
                if secret
                else _shown(current),
                secret=secret,
                description=info.description or "",
            )
        )
    return rows


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached: the environment is read once)."""
    return Settings()
