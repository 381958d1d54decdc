"""``campaigns serve`` never opens an unauthenticated API to the network by mistake."""

from __future__ import annotations

import pytest

from campaigns.config import Settings
from campaigns.errors import ConfigurationError
from services.cli.serve import check_bind, is_loopback


def _settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_addresses(host: str):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "192.168.0.10"])
def test_network_addresses(host: str):
    assert not is_loopback(host)


def test_an_open_api_on_the_network_is_refused_with_what_to_do():
    with pytest.raises(ConfigurationError) as caught:
        check_bind("0.0.0.0", _settings())
    assert "CAMPAIGNS_API_TOKEN" in caught.value.one_line()


def test_a_tokenless_api_on_loopback_runs_with_a_warning_that_it_answers_only_this_machine():
    warning = check_bind("127.0.0.1", _settings())
    assert warning is not None and "answers only this machine" in warning
    assert "OPEN" not in warning


def test_open_on_the_network_only_when_explicitly_allowed():
    assert "OPEN" in (check_bind("0.0.0.0", _settings(api_allow_open=True)) or "")


def test_a_token_serves_anywhere_silently():
    assert check_bind("0.0.0.0", _settings(api_token="t0ken")) is None


def test_webhooks_without_their_secret_are_refused_at_start():
    with pytest.raises(ConfigurationError, match="CAMPAIGNS_WEBHOOK_SECRET"):
        check_bind(
            "0.0.0.0",
            _settings(api_token="t", label_studio_webhook_url="http://api:8000/webhooks/x"),
        )
