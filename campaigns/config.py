"""Settings, read once from the environment (prefix ``CAMPAIGNS_``) or a ``.env`` file.

Every secret is a ``SecretStr`` so that printing or logging the settings never shows it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the campaign state, the traffic and Label Studio live."""

    model_config = SettingsConfigDict(
        env_prefix="CAMPAIGNS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite:///campaigns.state.db",
        description="SQLAlchemy URL of the campaign database (SQLite file or PostgreSQL).",
    )
    storage_root: str = Field(
        default="./data",
        description="Local directory or s3://bucket/prefix holding traffic, samples and exports.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint, e.g. http://127.0.0.1:9000 for MinIO."
    )
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "us-east-1"

    label_studio_url: str = Field(
        default="http://127.0.0.1:8080", description="Base URL of the Label Studio server."
    )
    label_studio_token: SecretStr | None = Field(
        default=None, description="Label Studio API token (Account & Settings > Access Token)."
    )
    label_studio_timeout: float = 120.0

    auto_coding_threshold: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="Confidence index at or above which a text is coded automatically.",
    )
    nomenclature: str | None = Field(
        default=None,
        description="Path or URL of the nomenclature table (NAF rév.2 5-level CSV/XLSX). "
        "Unset: the small built-in SAMPLE nomenclature, enough for the demo only.",
    )
    new_nomenclature: str | None = Field(
        default=None,
        description="Path or URL of the NAF 2025 (NACE Rev.2.1) table. Unset: built-in sample.",
    )
    correspondence: str | None = Field(
        default=None,
        description="Path or URL of the NAF rév.2 -> NAF 2025 correspondence (Insee's XLS/CSV "
        "layout). Unset: built-in sample.",
    )
    context_legal_categories: str | None = Field(
        default=None,
        description="Path or URL of the legal-category (cj) titles shown to experts "
        "(env CAMPAIGNS_CONTEXT_LEGAL_CATEGORIES): a CSV with a code column and a "
        "libelle/title/label column, or a {code: title} JSON. Unset: raw codes.",
    )
    context_activity_natures: str | None = Field(
        default=None,
        description="Path or URL of the activity-nature (activ_nat_et) titles shown to experts "
        "(env CAMPAIGNS_CONTEXT_ACTIVITY_NATURES): a {code: title} JSON or a code,title CSV; "
        "'/////////' titles count as missing. Unset: raw codes.",
    )
    label_studio_webhook_url: str | None = Field(
        default=None,
        description="URL at which Label Studio reaches this API's POST /webhooks/label-studio; "
        "set, every new campaign's project notifies it of annotations (unset: exports poll).",
    )
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token required by the campaign REST API."
    )

    def sqlite_path(self) -> Path | None:
        """The SQLite file behind ``database_url``, if it is one (to create its folder)."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :])
        return None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached: the environment is read once)."""
    return Settings()
