"""Generated input over every route: schemathesis over the API's OpenAPI schema (more examples
than the API's own conformance test, and aimed at real ids so bodies reach the use cases), and
hypothesis over the dashboard's forms and query strings. Nothing may answer 5xx; every API
refusal is a problem document. The number of cases tried is printed in the summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from pathway import access
from pathway.store.db import transaction
from pathway.vocabulary import ALL_EVENT_NAMES
from tests.api.support import make_harness
from tests.dashboard.support import PASSWORD, csrf_of
from tests.faults.ledger import Entry
from tests.faults.sizes import sized
from tests.support.databases import TestDatabase

EXAMPLES = sized(30, 300)
PROBLEM = "application/problem+json"
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
#: The dashboard has a handful of routes: more examples for each.
FUZZ_PAGES = settings(FUZZ, max_examples=EXAMPLES * 6)


def _content_type(response: Any) -> str:
    # schemathesis keeps every header as a list of values.
    values = response.headers.get("content-type") or [""]
    return str(values[0] if isinstance(values, list) else values)


def test_every_api_operation_under_generated_input(pg_db: TestDatabase, ledger: Entry) -> None:
    api = make_harness(pg_db)
    api.clock.to_day(20)
    episode = api.open()
    api.send(episode["id"], "start_conservative_care", 20)
    hook = api.client.post("/v1/webhooks", headers=api.auth(),
                           json={"url": "http://127.0.0.1:9/", "event_names": ["*"]}).json()
    real = {"episode_id": episode["id"], "reminder_id": episode["reminders"][0]["id"],
            "subscription_id": hook["id"], "seq": 1, "version": 1, "delivery_id": 1}
    config = SchemathesisConfig.from_dict(
        {"auth": {"openapi": {"HTTPBearer": {"bearer": api.keys["admin"]}}}})
    with TestClient(api.client.app, raise_server_exceptions=False) as client:
        schema = schemathesis.openapi.from_asgi("/openapi.json", client.app, config=config)
        operations = [result.ok() for result in schema.get_all_operations()]
        tried: Counter[str] = Counter()
        failures: list[str] = []
        for operation in operations:
            fixed = {p.name: real[p.name] for p in operation.path_parameters if p.name in real}
            strategies = [operation.as_strategy(generation_mode=mode)
                          for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
            if fixed:
                strategies += [operation.as_strategy(generation_mode=mode, path_parameters=fixed)
                               for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]

            @FUZZ
            @given(case=st.one_of(strategies))
            def run(case: schemathesis.Case) -> None:
                label = case.operation.label
                tried[label] += 1
                response = case.call()
                if response.status_code >= 500:
                    failures.append(f"{label}: {response.status_code} {response.text[:200]} "
                                    f"for {case.path_parameters} {case.query} {case.body!r:.200}")
                elif response.status_code >= 400 and _content_type(response) != PROBLEM:
                    failures.append(f"{label}: {response.status_code} is not a problem "
                                    f"({_content_type(response)})")

            run()
    ledger.tried(sum(tried.values()))
    ledger.check("operations fuzzed", len(operations))
    ledger.note(f"schemathesis: {sum(tried.values())} cases over {len(operations)} operations "
                f"({EXAMPLES} examples per operation)")
    assert len(operations) >= 20
    assert failures == [], "\n".join(failures[:20])


FORM_KEYS = st.sampled_from(["event", "occurred_on", "data.pain_score", "data.symptoms",
                             "data.agent", "data.started_on", "data.kind", "data.adherent",
                             "data.reason", "data.text", "data.note", "data.findings",
                             "data.red_flags", "data.decision", "data.modality",
                             "data.finding", "until", "reason", "assignee", "note", "next"])
FORMS = st.dictionaries(st.one_of(FORM_KEYS, st.text(max_size=10)),
                        st.one_of(st.text(max_size=40), st.sampled_from(
                            list(ALL_EVENT_NAMES) + ["9" * 30, "-1", "0001-01-01",
                                                     "9999-12-31", "yes", "<script>"])),
                        max_size=6)
QUERIES = st.dictionaries(st.sampled_from(["state", "kind", "priority", "mrn", "coordinator",
                                           "mine", "overdue", "after", "view", "start", "end",
                                           "next"]), st.text(max_size=30), max_size=4)


def test_every_dashboard_form_and_page_under_generated_input(pg_db: TestDatabase,
                                                             ledger: Entry) -> None:
    api = make_harness(pg_db)
    api.clock.to_day(20)
    episode = api.open()
    reminder = episode["reminders"][0]["id"]
    with transaction(pg_db.sessions) as session:
        access.create_user(session, username="boss", password=PASSWORD, role="admin",
                           now=api.clock())
    actions = [f"/episodes/{episode['id']}/events", f"/reminders/{reminder}/acknowledge",
               f"/reminders/{reminder}/snooze", f"/reminders/{reminder}/assign",
               "/deliveries/1/retry"]
    pages = ["/", "/reminders", "/kpis", f"/episodes/{episode['id']}", "/pathway", "/admin",
             "/login"]
    tried = Counter[str]()
    failures: list[str] = []
    with TestClient(api.client.app, raise_server_exceptions=False) as browser:
        login = browser.get("/login")
        browser.post("/login", data={"username": "boss", "password": PASSWORD,
                                     "csrf_token": csrf_of(login.text)})
        token = csrf_of(browser.get("/").text)

        @FUZZ_PAGES
        @given(action=st.sampled_from(actions), form=FORMS)
        def post(action: str, form: dict[str, Any]) -> None:
            tried["form"] += 1
            response = browser.post(action, data={**form, "csrf_token": token},
                                    follow_redirects=False)
            if response.status_code >= 500:
                failures.append(f"POST {action} {form}: {response.status_code}")

        @FUZZ_PAGES
        @given(page=st.sampled_from(pages), query=QUERIES)
        def get(page: str, query: dict[str, str]) -> None:
            tried["page"] += 1
            response = browser.get(page, params=query, follow_redirects=False)
            if response.status_code >= 500:
                failures.append(f"GET {page} {query}: {response.status_code}")
            elif "<script>" in response.text:
                failures.append(f"GET {page} {query}: inline or reflected script")

        post()
        get()
    ledger.tried(sum(tried.values()))
    ledger.note(f"hypothesis: {tried['form']} dashboard form posts, {tried['page']} page loads")
    assert failures == [], "\n".join(failures[:20])
