"""schemathesis against the app's own OpenAPI schema, authenticated as an admin.

Every operation gets valid and invalid generated requests; no response may be a 5xx, each
must match the documented status codes, content types and schemas, and invalid requests must
be refused. (Valid-looking requests may still be refused: rules such as "not before day 0"
depend on the data, so `positive_data_acceptance` is not among the checks.) Bounded for CI: raise
`PATHWAY_FUZZ_EXAMPLES` (examples per operation and mode) for a longer run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis import APIOperation
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from tests.api.support import ApiHarness

EXAMPLES = int(os.environ.get("PATHWAY_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _seed(api: ApiHarness) -> dict[str, int]:
    """Something for the generated requests to find; returns ids that exist."""
    api.clock.to_day(20)
    for _ in range(2):
        ep = api.open()
        api.send(ep["id"], "start_conservative_care", 20)
    hook = api.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/",
                                                 "event_names": ["*"]}, headers=api.auth())
    return {"episode_id": ep["id"], "reminder_id": ep["reminders"][0]["id"], "seq": 1,
            "version": 1, "subscription_id": hook.json()["id"]}


def _has_input(operation: APIOperation) -> bool:
    return bool(operation.body) or any(
        p.location != "header" or p.name != "Authorization" for p in operation.iter_parameters())


def _strategies(operation: APIOperation, mode: GenerationMode,
                known: dict[str, int]) -> list[SearchStrategy[schemathesis.Case]]:
    """Free generation, plus (for valid requests) one pinned to ids that exist, so that
    generated bodies and queries reach the handlers rather than stop at a 404."""
    strategies = [operation.as_strategy(generation_mode=mode)]
    names = {p.name for p in operation.iter_parameters() if p.location == "path"}
    if mode == GenerationMode.POSITIVE and names and names <= set(known):
        pinned = {name: known[name] for name in names}
        strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=pinned))
    return strategies


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(api: ApiHarness, mode: GenerationMode) -> None:
    known = _seed(api)
    # Authenticated through the schema's security scheme, so negative cases that drop or
    # mangle the key are sent as generated (and must get 401).
    config = SchemathesisConfig.from_dict(
        {"auth": {"openapi": {"HTTPBearer": {"bearer": api.keys["admin"]}}}})
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app, config=config)
    checks = CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE else [])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not _has_input(operation):
            continue  # nothing to get wrong
        for strategy in _strategies(operation, mode, known):

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=checks)

            run()
