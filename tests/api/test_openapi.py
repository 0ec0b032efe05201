"""JSON API contract: GET /api/v1/openapi.json is OpenAPI 3.1 and describes every route."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

PREFIX = "/api/v1"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# What DESIGN.md promises for every thread in JSON.
DESIGN_THREAD_KEYS = {"id", "title", "url", "tags", "status", "score", "answer_count",
                      "accepted_answer_id", "author", "created_at", "last_activity_at", "source"}


@pytest.fixture
def spec(client, ctx) -> dict[str, Any]:
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    return response.get_json()


def api_routes(app) -> set[tuple[str, str]]:
    """(path as OpenAPI writes it, lower-case method) for every route served under /api/v1."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        # "<int:post_id>" or "<int(max=9):post_id>" or "<post_id>" → "{post_id}"
        path = re.sub(r"<(?:[^:<>]+:)?([^:<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    return routes


def operations(spec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def refs(node) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_it_is_an_openapi_3_1_document(spec):
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["info"]["title"] and isinstance(spec["info"]["version"], str)
    assert spec["servers"] == [{"url": PREFIX}]
    assert spec["paths"] and all(path.startswith("/") for path in spec["paths"])
    assert spec["components"]["schemas"]
    for scheme in spec["components"]["securitySchemes"].values():
        assert scheme["type"] in ("http", "apiKey", "oauth2", "openIdConnect", "mutualTLS")


def test_it_needs_no_credentials_and_no_cookie(app):
    response = app.test_client().get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")


def test_every_api_route_is_documented(app, spec):
    documented = {(path, method) for path, method, _ in operations(spec)}
    missing = api_routes(app) - documented
    assert not missing, f"routes missing from openapi.json: {sorted(missing)}"


def test_every_documented_operation_is_served(app, spec):
    documented = {(path, method) for path, method, _ in operations(spec)}
    extra = documented - api_routes(app)
    assert not extra, f"openapi.json describes routes the app does not serve: {sorted(extra)}"


def test_every_ref_points_at_a_defined_schema(spec):
    schemas = spec["components"]["schemas"]
    for ref in refs(spec):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, f"dangling {ref}"


def test_every_path_parameter_is_declared(spec):
    for path, method, operation in operations(spec):
        declared = {p["name"] for p in spec["paths"][path].get("parameters", []) + operation.get(
            "parameters", []) if p["in"] == "path" and p.get("required") is True}
        named = set(re.findall(r"{([^}]+)}", path))
        assert named == declared, (method, path, named, declared)


def test_every_operation_has_a_summary_a_success_and_error_bodies_in_the_one_shape(spec):
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        statuses = set(operation["responses"])
        assert any(s.startswith("2") for s in statuses), where
        for status, response in operation["responses"].items():
            assert response.get("description"), (where, status)
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (where, status)


def test_the_error_schema_is_code_message_and_an_optional_field(spec):
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    inner = error["properties"]["error"]
    assert set(inner["required"]) == {"code", "message"}
    assert set(inner["properties"]) == {"code", "message", "field"}


def test_operations_with_a_body_document_400_413_and_422(spec):
    for path, method, operation in operations(spec):
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(operation["responses"]), f"{method.upper()} {path}"


def test_operations_that_need_a_user_document_401(spec):
    for path, method, operation in operations(spec):
        if operation.get("security"):
            assert "401" in operation["responses"], f"{method.upper()} {path}"
            for requirement in operation["security"]:
                assert set(requirement) <= set(spec["components"]["securitySchemes"])


def test_write_operations_declare_their_security(spec):
    for path, method, operation in operations(spec):
        # Signing up, logging in and resetting a forgotten password need no account.
        if method != "get" and path not in ("/users", "/tokens", "/password-reset",
                                            "/password-reset/confirm"):
            assert operation.get("security"), f"{method.upper()} {path}"


def test_the_thread_schema_requires_every_key_design_md_promises(spec):
    thread = spec["components"]["schemas"]["Thread"]
    assert DESIGN_THREAD_KEYS <= set(thread["required"])
    assert DESIGN_THREAD_KEYS <= set(thread["properties"])


def test_list_endpoints_take_limit_and_cursor(spec):
    params = {p["name"]: p for p in spec["paths"]["/threads"]["get"]["parameters"]}
    assert {"limit", "cursor", "status", "tag", "sort"} <= set(params)
    assert params["limit"]["schema"]["maximum"] == 100
    assert set(params["sort"]["schema"]["enum"]) == {"active", "newest", "votes"}
    assert set(params["status"]["schema"]["enum"]) == {"unanswered", "answered", "solved"}
