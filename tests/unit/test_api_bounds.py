"""Every integer the API accepts has a bound, and a value past it is a 422, never a 500.

The walk reads the app's own OpenAPI schema: every path, query, header and cookie parameter
and every request body, through ``$ref``, unions, lists and maps. An integer without a
maximum (or without a minimum, none of ours may be negative) fails the test, so a new route
cannot forget its bound (``services/api/bounds.py`` has the types to use). Then every integer
parameter of every route is sent 2**63 and -2**63-1 for real, the request
``make fuzz`` once found answered with a 500 (``GET /jobs?offset=2**63``) among them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel

from campaigns.config import get_settings
from services.api.main import create_app

TOKEN = "bounds-t0ken"
INT64_MAX = 2**63 - 1  # what SQLite, PostgreSQL's bigint, numpy and DuckDB hold
MAY_BE_NEGATIVE: set[str] = set()  # "where: name" of an integer that may be below 0: none yet
METHODS = {"get", "post", "put", "patch", "delete"}


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def integers(
    schema: dict[str, Any], where: str, spec: dict[str, Any], seen: frozenset[str] = frozenset()
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer schema reachable from ``schema``, named by where it sits."""
    ref = schema.get("$ref")
    if ref is not None:
        if ref in seen:  # a recursive model: its integers are already walked
            return
        target: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        yield from integers(target, where, spec, seen | {ref})
    if "integer" in _types(schema):
        yield where, schema
    for name, sub in schema.get("properties", {}).items():
        yield from integers(sub, f"{where}.{name}", spec, seen)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            yield from integers(schema[key], f"{where}[]", spec, seen)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, []):
            yield from integers(sub, where, spec, seen)


def accepted_integers(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The integers of every operation's parameters and request bodies (not its responses)."""
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            route = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                where = f"{route} {parameter['in']}:{parameter['name']}"
                yield from integers(parameter.get("schema", {}), where, spec)
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                yield from integers(content.get("schema", {}), f"{route} body({media})", spec)


def unbounded(spec: dict[str, Any]) -> list[str]:
    """What is wrong with each accepted integer's bounds, one line each."""
    problems = []
    for where, schema in accepted_integers(spec):
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        if high is None:
            problems.append(f"{where}: no maximum")
        elif high > INT64_MAX:
            problems.append(f"{where}: maximum {high} beyond 64 bits")
        if low is None:
            problems.append(f"{where}: no minimum")
        elif low < 0 and where not in MAY_BE_NEGATIVE:
            problems.append(f"{where}: minimum {low} below 0")
    return problems


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().openapi()


def test_every_integer_the_api_accepts_is_bounded(spec):
    assert unbounded(spec) == []


def test_the_walk_reaches_every_kind_of_integer_the_api_has(spec):
    found = {where for where, _ in accepted_integers(spec)}
    assert {
        "GET /jobs query:offset",  # a query parameter
        "GET /campaigns/{campaign_id} path:campaign_id",  # a path parameter
        "POST /samples body(application/json).seed",  # a body field, through $ref
        "POST /samples body(application/json).design.fixed[]",  # a map's values, nested
        "POST /webhooks/label-studio body(application/json).project.id",  # a union's model
    } <= found
    assert len(found) >= 50


class _Loose(BaseModel):
    count: int
    sizes: list[int] = []
    ceiling: int | None = None


def test_the_walk_fails_a_route_that_forgets_its_bounds():
    app = FastAPI()

    @app.post("/loose/{item}")
    def loose(item: int, body: _Loose, page: int = Query(default=0, ge=0)) -> int:
        return item

    assert sorted(unbounded(app.openapi())) == [
        "POST /loose/{item} body(application/json).ceiling: no maximum",
        "POST /loose/{item} body(application/json).ceiling: no minimum",
        "POST /loose/{item} body(application/json).count: no maximum",
        "POST /loose/{item} body(application/json).count: no minimum",
        "POST /loose/{item} body(application/json).sizes[]: no maximum",
        "POST /loose/{item} body(application/json).sizes[]: no minimum",
        "POST /loose/{item} path:item: no maximum",
        "POST /loose/{item} path:item: no minimum",
        "POST /loose/{item} query:page: no maximum",
    ]


# -- the bounds hold on the real app: every integer parameter, sent out of range


@pytest.fixture
def client(local_env, monkeypatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", TOKEN)
    monkeypatch.setenv("CAMPAIGNS_WEBHOOK_SECRET", TOKEN)  # one header opens every route
    get_settings.cache_clear()
    yield TestClient(create_app(), headers={"Authorization": f"Bearer {TOKEN}"})
    get_settings.cache_clear()


def _integer_parameters() -> list[tuple[str, str, str, str]]:
    spec = create_app().openapi()
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if any(True for _ in integers(parameter["schema"], "", spec)):
                    found.append((method, path, parameter["in"], parameter["name"]))
    return found


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
@pytest.mark.parametrize(("method", "path", "where", "name"), _integer_parameters())
def test_an_out_of_range_integer_parameter_is_422(client, method, path, where, name, value):
    url = path
    for placeholder in [p for p in path.split("/") if p.startswith("{")]:
        given = value if placeholder == f"{{{name}}}" else 1
        url = url.replace(placeholder, str(given))
    params = {name: value} if where == "query" else {}
    body = {} if method != "get" else None
    response = client.request(method.upper(), url, params=params, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert error["message"].startswith(f"{where}.{name}: ")


def test_the_fuzzers_finding_is_a_422_with_the_error_body(client):
    # GET /jobs?limit=1&offset=2**63 reached SQLite and answered a plain-text 500.
    response = client.get("/jobs", params={"limit": 1, "offset": 2**63})
    assert response.status_code == 422
    assert response.json()["error"] == {
        "type": "ValidationError",
        "message": "query.offset: Input should be less than or equal to 2147483647",
        "hint": "See the OpenAPI schema at /docs.",
    }
    assert client.get("/jobs", params={"limit": 1, "offset": 2**31 - 1}).json() == []
