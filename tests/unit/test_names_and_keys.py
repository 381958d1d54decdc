"""Names users choose never become paths outside the storage root (hostile names refused)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from campaigns.errors import InvalidArgumentError
from campaigns.state.models import CampaignCreate
from campaigns.storage import Storage


@pytest.mark.parametrize("name", ["../../elsewhere/evil", "[/]", "a b", "-x", "x/y", "", "é"])
def test_campaign_names_must_be_slugs(name: str):
    with pytest.raises(ValidationError):
        CampaignCreate(name=name, sample_id="s")


def test_a_slug_name_is_accepted():
    assert CampaignCreate(name="sept-gold_2026.v2", sample_id="s").name == "sept-gold_2026.v2"


@pytest.mark.parametrize(
    "parts",
    [("..", "x.parquet"), ("exports/../../x",), ("a", "b\\..\\c"), ("a\x00b",), ("./x",)],
)
def test_storage_refuses_keys_leaving_its_root(tmp_path, parts):
    storage = Storage.open(str(tmp_path / "root"))
    with pytest.raises(InvalidArgumentError, match="below the storage root"):
        storage.write_bytes(b"x", *parts)
    assert not (tmp_path / "x.parquet").exists()
    assert not (tmp_path / "x").exists()


def test_ordinary_keys_still_work(tmp_path):
    storage = Storage.open(str(tmp_path / "root"))
    storage.write_bytes(b"hello", "exports/campaign=1/", "/LATEST")
    assert storage.read_bytes("exports", "campaign=1", "LATEST") == b"hello"
    assert storage.uri("a//b") == f"{storage.root_uri}/a/b"


def test_the_cli_refuses_a_hostile_campaign_name_in_one_line(cli, local_env):
    result = cli("create", "../../evil", "--sample", "nope", ok=False)
    assert result.exit_code == 2
    assert "Invalid name" in result.output
    assert "Traceback" not in result.output
