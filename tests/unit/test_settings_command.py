"""``campaigns settings`` lists every setting, masks secrets, and the README documents each."""

from __future__ import annotations

import json
from pathlib import Path

from campaigns.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_listed_with_its_variable_and_secrets_are_masked(cli, monkeypatch):
    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", "s3cr3t-token")
    monkeypatch.setenv("CAMPAIGNS_AUTO_CODING_THRESHOLD", "0.65")
    from campaigns.config import get_settings

    get_settings.cache_clear()
    rows = {r["env"]: r for r in json.loads(cli("settings", "--json").stdout)}
    assert set(rows) == {f"CAMPAIGNS_{name.upper()}" for name in Settings.model_fields}
    assert rows["CAMPAIGNS_API_TOKEN"]["current"] == "********"
    assert rows["CAMPAIGNS_API_TOKEN"]["secret"] is True
    assert rows["CAMPAIGNS_AUTO_CODING_THRESHOLD"] | {"description": ""} == {
        "name": "auto_coding_threshold",
        "env": "CAMPAIGNS_AUTO_CODING_THRESHOLD",
        "default": "0.8",
        "current": "0.65",
        "secret": False,
        "description": "",
    }
    text = cli("settings").stdout
    assert "s3cr3t-token" not in text
    assert "CAMPAIGNS_AUTO_CODING_THRESHOLD = 0.65" in text
    get_settings.cache_clear()


def test_the_readme_documents_every_setting():
    readme = README.read_text(encoding="utf-8")
    missing = [
        f"CAMPAIGNS_{name.upper()}"
        for name in Settings.model_fields
        if f"`CAMPAIGNS_{name.upper()}`" not in readme
    ]
    assert missing == []
