"""The OpenAPI document says what the server really does: a bounded schemathesis run
(few examples per operation) finds no server error, and every response conforms to the
document (status, content type, headers, schema); auth that the document requires is
enforced.

Left out: schemathesis's "schema-valid data is accepted" check. The document says an
address is a string of at most 320 characters in the email format; whether it really is
one (IDNA, dots, a fully qualified domain) the service judges, and a 422 problem says why.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from tests.web.conftest import Web

EXAMPLES = 5
"""Examples per operation: bounded, so that the run takes seconds."""
OUTWARD = r"/(check|enable|poll)$"
"""Paths that connect to a mail server named in the request or the configuration (a
connection check, enabling after one, a poll): random hosts would make this run wait on
the network. Their own tests drive them against the loopback mail stack."""


def test_the_document_is_openapi_3_1_with_problems(web: Web) -> None:
    document = web.client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "Problem" in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    routes = document["paths"]["/api/v1/routes"]
    assert "application/problem+json" in routes["post"]["responses"]["409"]["content"]
    assert "application/problem+json" in routes["get"]["responses"]["401"]["content"]
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert web.client.get(path).status_code == 404


def test_the_api_conforms_to_its_document(web: Web) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web.client.app).exclude(
        path_regex=OUTWARD
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=web.admin(), excluded_checks=[positive_data_acceptance])

        conforms()
