"""compose.yaml wires the deployment (Docker does not run here: its structure is checked)."""

from __future__ import annotations

from pathlib import Path

import yaml

from campaigns.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_services_and_wiring():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "minio", "label-studio", "api", "nightly"} <= set(services)
    api_env = services["api"]["environment"]
    # Every CAMPAIGNS_* variable the services set is a real setting.
    known = {f"CAMPAIGNS_{name.upper()}" for name in Settings.model_fields}
    assert set(api_env) <= known, set(api_env) - known
    assert api_env["CAMPAIGNS_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert api_env["CAMPAIGNS_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert api_env["CAMPAIGNS_LABEL_STUDIO_URL"] == "http://label-studio:8080"
    assert services["nightly"]["environment"] == api_env
    assert (ROOT / services["api"]["build"] / "Dockerfile").is_file()
    assert "campaigns nightly" in " ".join(services["nightly"]["command"])
