"""Fuzz the REST API from its own OpenAPI schema (schemathesis), against the real servers.

Every generated request, valid or not, must get a documented answer: no 5xx, a status code
the schema lists, a body matching the schema, the JSON error shape for errors.

In ``make test`` the run is derandomized (the same cases on every machine and every run), so
a fresh clone cannot fail on a case another run never met; the requests exploration once
found failing are replayed in it too (``FINDINGS``). ``make fuzz`` explores: random, many more
examples (``FUZZ_EXAMPLES``), from ``FUZZ_SEED`` (printed; the same seed draws the same cases,
``FUZZ_SEED=7 FUZZ_EXAMPLES=1500 make fuzz``); what it finds becomes a regular test here and
beside the code it concerns (tests/unit/test_api_bounds.py's out-of-range integers).
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from services.api.main import create_app

pytestmark = pytest.mark.integration
TOKEN = "fuzz-token"

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
EXPLORE = os.environ.get("FUZZ_EXAMPLES")
SEED = int(os.environ.get("FUZZ_SEED") or secrets.randbelow(2**32)) if EXPLORE else None
if SEED is not None:
    schema.config.seed = SEED


@pytest.fixture
def fuzz_env(live_env, monkeypatch):
    from campaigns.config import get_settings

    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", TOKEN)
    monkeypatch.setenv("CAMPAIGNS_WEBHOOK_SECRET", TOKEN)  # one header opens every route
    get_settings.cache_clear()
    if SEED is not None:
        print(f"FUZZ_SEED={SEED}")  # shown beside a failure: the seed that replays it
    yield
    get_settings.cache_clear()


@schema.parametrize()
@settings(
    max_examples=int(EXPLORE) if EXPLORE else 30,
    derandomize=not EXPLORE,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_every_request_as_documented(case, fuzz_env):
    answers_as_documented(case)


def answers_as_documented(case: Any) -> Any:
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    # Business rules may refuse schema-valid input (no traffic in the window: 422), and unknown
    # query parameters are ignored as in any FastAPI app: those two checks do not apply.
    case.validate_response(
        response, excluded_checks=[positive_data_acceptance, negative_data_rejection]
    )
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"type", "message", "hint"}
    return response


# What exploration found (route, method, the case's parts, the status it must get), replayed
# in every run: a 500 from SQLite on an offset past 64 bits (issue #30).
FINDINGS = [
    ("/jobs", "GET", {"query": {"limit": 1, "offset": 2**63}}, 422),
    ("/jobs", "GET", {"query": {"campaign_id": 2**63}}, 422),
    ("/campaigns", "GET", {"query": {"offset": 2**63}}, 422),
]


@pytest.mark.parametrize(("path", "method", "parts", "status"), FINDINGS)
def test_what_exploration_found_stays_fixed(fuzz_env, path, method, parts, status):
    response = answers_as_documented(schema[path][method].Case(**parts))
    assert response.status_code == status
