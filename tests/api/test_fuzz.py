"""Schemathesis drives every operation of the OpenAPI schema with generated input, valid
and invalid (wrong types, missing fields, odd strings, huge numbers): nothing may answer 5xx.

The API runs with the in-memory gateway, ledger and facts store, an admin key and the
webhook on, so the generated requests reach the handlers rather than stopping at
authentication. A generated webhook report is unsigned and gets 401; its body is fuzzed
through MailReport below.
"""

from __future__ import annotations

import contextlib

import hypothesis
import schemathesis
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError
from schemathesis import GenerationMode

from nurture.api import create_app
from nurture.config.settings import ApiSettings, Settings
from nurture.services.mail_reports import MailReport
from nurture.testing import MemoryFactStore, MemoryLeadGateway, MemoryLedger
from tests.helpers import ROOT

KEY = "fuzz-admin-key"

app = create_app(
    Settings(
        home=ROOT,
        api=ApiSettings(keys=KEY, public_rate="off"),
        webhook_secret=SecretStr("fuzz-hook"),
    ),
    gateway=MemoryLeadGateway(),
    ledger=MemoryLedger(),
    facts=MemoryFactStore(),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=60,
    deterministic=True,
)


@schema.parametrize()
def test_no_server_errors(case: schemathesis.Case) -> None:
    """Whatever the input, the answer is a 2xx, 3xx or a 4xx that says what is wrong."""
    response = case.call(headers={"X-API-Key": KEY})
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
        assert "Traceback" not in response.text


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    st.dictionaries(
        st.sampled_from(
            ["report_id", "type", "email", "bounce_type", "status", "diagnostic", "occurred_at"]
        ),
        st.one_of(st.none(), st.text(max_size=40), st.integers(), st.booleans()),
    )
)
def test_mail_reports_refuse_or_accept_cleanly(body: dict[str, object]) -> None:
    """Any JSON object is either a valid report or a ValidationError (the 422 the webhook
    answers): never another exception."""
    with contextlib.suppress(ValidationError):
        MailReport.model_validate(body)
