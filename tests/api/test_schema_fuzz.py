"""schemathesis against the app's own OpenAPI schema, authenticated as an admin.

Every operation gets valid and invalid generated requests; no response may be a 5xx, and each
must match the documented status codes, content types and schemas. Bounded for CI: raise
`PATHWAY_FUZZ_EXAMPLES` (examples per operation and mode) for a longer run.
"""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis import APIOperation
from schemathesis.generation import GenerationMode

from tests.api.support import ApiHarness

EXAMPLES = int(os.environ.get("PATHWAY_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _seed(api: ApiHarness) -> None:
    """Something for the generated requests to find: episodes with reminders, a webhook."""
    api.clock.to_day(20)
    for _ in range(2):
        ep = api.open()
        api.send(ep["id"], "start_conservative_care", 20)
    api.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/", "event_names": ["*"]},
                    headers=api.auth())


def _has_input(operation: APIOperation) -> bool:
    return bool(operation.body) or any(
        p.location != "header" or p.name != "Authorization" for p in operation.iter_parameters())


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(api: ApiHarness, mode: GenerationMode) -> None:
    _seed(api)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    headers = api.auth("admin")
    checks = CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE else [])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not _has_input(operation):
            continue  # nothing to get wrong

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        t0 = time.perf_counter(); run(); print(f"{time.perf_counter()-t0:.2f} {operation.label}")
