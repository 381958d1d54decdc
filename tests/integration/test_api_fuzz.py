"""Fuzz the REST API from its own OpenAPI schema (schemathesis), against the real servers.

Every generated request, valid or not, must get a documented answer: no 5xx, a status code
the schema lists, a body matching the schema, the JSON error shape for errors.

In ``make test`` the run is derandomized (the same cases on every machine and every run), so
a fresh clone cannot fail on a case another run never met. ``make fuzz`` explores: random,
many more examples (``FUZZ_EXAMPLES``); what it finds becomes a regular test (for example
tests/unit/test_api_guard.py's out-of-range requests).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from services.api.main import create_app

pytestmark = pytest.mark.integration
TOKEN = "fuzz-token"

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@pytest.fixture
def fuzz_env(live_env, monkeypatch):
    from campaigns.config import get_settings

    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", TOKEN)
    monkeypatch.setenv("CAMPAIGNS_WEBHOOK_SECRET", TOKEN)  # one header opens every route
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


EXPLORE = os.environ.get("FUZZ_EXAMPLES")


@schema.parametrize()
@settings(
    max_examples=int(EXPLORE) if EXPLORE else 30,
    derandomize=not EXPLORE,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_every_request_as_documented(case, fuzz_env):
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    # Business rules may refuse schema-valid input (no traffic in the window: 422), and unknown
    # query parameters are ignored as in any FastAPI app: those two checks do not apply.
    case.validate_response(
        response, excluded_checks=[positive_data_acceptance, negative_data_rejection]
    )
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"type", "message", "hint"}
