"""Every answer to a form post or an event carries the id a retry must reuse, and a retry
with it after a lost answer counts once (proved on the time-skipping Temporal server)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from temporalio.service import RPCError, RPCStatusCode

from nurture.adapters.temporal.gateway import LeadGateway
from nurture.api import create_app
from nurture.config.settings import ApiSettings, Settings
from nurture.domain.lead.messages import LeadMessage
from nurture.domain.lead.view import LeadView
from nurture.domain.models import FormSubmitted
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.conftest import Harness
from tests.helpers import ROOT, told_events
from tests.waiting import sent, view_when

KEY = "retry-test-key"
AUTH = {"X-API-Key": KEY}
SUBMISSION = "X-Nurture-Submission-Id"
EVENT = "X-Nurture-Event-Id"
LOST = RPCError("connection reset before the answer", RPCStatusCode.UNAVAILABLE, b"")


def settings(**api: Any) -> Settings:
    return Settings(home=ROOT, api=ApiSettings(keys=KEY, **api))


class LostAnswers:
    """A gateway whose calls reach the lead store, then lose its answer: the next
    ``lose`` calls raise Temporal's UNAVAILABLE after the inner gateway did its work."""

    def __init__(self, inner: LeadGateway, lose: int = 1) -> None:
        self.inner = inner
        self.lose = lose

    def _maybe_lose(self) -> None:
        if self.lose > 0:
            self.lose -= 1
            raise LOST

    async def submit_form(self, lead_id: str, form: FormSubmitted) -> None:
        await self.inner.submit_form(lead_id, form)
        self._maybe_lose()

    async def tell(self, lead_id: str, message: LeadMessage) -> None:
        await self.inner.tell(lead_id, message)
        self._maybe_lose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def memory() -> MemoryLeadGateway:
    return MemoryLeadGateway()


def client_for(gateway: Any, **api: Any) -> TestClient:
    app = create_app(settings(**api), gateway=gateway, ledger=MemoryLedger())
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(memory: MemoryLeadGateway) -> Iterator[TestClient]:
    with client_for(memory) as test_client:
        yield test_client


def carried(response: httpx.Response, field: str, header: str) -> str:
    """The id the answer carries, the same in its body and its header."""
    value = response.json()[field]
    assert response.headers[header] == value, (response.headers, response.text)
    return str(value)


class TestFormAnswers:
    """Every answer to a form post, errors included, carries the submission id: the
    client's own when it sent a valid one, else one the server made up once, on arrival."""

    def test_a_made_up_id_is_the_one_recorded(
        self, client: TestClient, memory: MemoryLeadGateway
    ) -> None:
        response = client.post("/v1/forms/contact", json={"email": "a@b.example"})
        assert response.status_code == 202
        made_up = carried(response, "submission_id", SUBMISSION)
        assert re.fullmatch(r"[0-9a-f]{32}", made_up)
        assert memory.forms[0][1].submission_id == made_up

    def test_the_clients_own_id_is_echoed(self, client: TestClient) -> None:
        response = client.post(
            "/v1/forms/contact", data={"email": "a@b.example", "submission_id": "page-7"}
        )
        assert carried(response, "submission_id", SUBMISSION) == "page-7"

    @pytest.mark.parametrize(
        ("body", "echoed"),
        [({"submission_id": "page-8"}, "page-8"), ({"submission_id": "bad id!"}, None), ({}, None)],
        ids=["own", "invalid-own", "none"],
    )
    def test_a_422_carries_it(
        self, client: TestClient, body: dict[str, str], echoed: str | None
    ) -> None:
        response = client.post("/v1/forms/contact", json={"email": "nope", **body})
        assert response.status_code == 422
        value = carried(response, "submission_id", SUBMISSION)
        assert value == echoed if echoed else re.fullmatch(r"[0-9a-f]{32}", value)

    def test_a_503_after_a_lost_answer_is_honest_and_carries_it(
        self, memory: MemoryLeadGateway
    ) -> None:
        """The store kept the post and the answer was lost: the API cannot know which, says
        so, and returns the id the post was stored under."""
        with client_for(LostAnswers(memory)) as client:
            response = client.post("/v1/forms/contact", json={"email": "a@b.example"})
        assert response.status_code == 503
        stored = memory.forms[0][1].submission_id
        assert carried(response, "submission_id", SUBMISSION) == stored
        detail = response.json()["detail"]
        assert "may or may not have been recorded" in detail and stored in detail
        assert "nothing was recorded" not in detail

    def test_a_500_carries_it(
        self, client: TestClient, memory: MemoryLeadGateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def boom(*_: object) -> None:
            raise RuntimeError("internals")

        monkeypatch.setattr(memory, "submit_form", boom)
        response = client.post("/v1/forms/contact", json={"email": "a@b.example"})
        assert response.status_code == 500 and response.json()["error_id"]
        assert carried(response, "submission_id", SUBMISSION)

    def test_refusals_before_the_body_carry_it(self, memory: MemoryLeadGateway) -> None:
        """A 429 and a 404 (unknown form) too: the answer's shape never depends on where
        the request stopped."""
        with client_for(memory, public_rate="1/minute", public_burst=1) as client:
            client.post("/v1/forms/contact", json={"email": "a@b.example"})
            limited = client.post("/v1/forms/contact", json={"email": "b@b.example"})
            unknown = client.post("/v1/forms/nope", json={"email": "c@b.example"})
        assert limited.status_code == 429 and "Retry-After" in limited.headers
        assert carried(limited, "submission_id", SUBMISSION)
        assert unknown.status_code in (404, 429) and carried(unknown, "submission_id", SUBMISSION)


class TestEventAnswers:
    """The same for events, with the event id."""

    @pytest.fixture
    def lead(self, client: TestClient) -> str:
        return str(
            client.post("/v1/forms/contact", json={"email": "e@b.example"}).json()["lead_id"]
        )

    def test_a_made_up_id_is_the_one_recorded(
        self, client: TestClient, memory: MemoryLeadGateway, lead: str
    ) -> None:
        response = client.post(
            "/v1/events", headers=AUTH, json={"lead_id": lead, "type": "page_viewed"}
        )
        assert response.status_code == 202
        assert carried(response, "event_id", EVENT) == told_events(memory)[0][1].id

    def test_a_422_echoes_the_clients_id(self, client: TestClient) -> None:
        """FastAPI refuses the body before the route runs; the answer still has the id."""
        response = client.post(
            "/v1/events",
            headers=AUTH,
            json={"lead_id": "x", "type": "page_viewed", "event_id": "ev-9", "occurred_at": "x"},
        )
        assert response.status_code == 422
        assert carried(response, "event_id", EVENT) == "ev-9"

    def test_a_404_and_a_401_carry_it(self, client: TestClient) -> None:
        body = {"lead_id": "nobody", "type": "page_viewed", "event_id": "ev-1"}
        unknown = client.post("/v1/events", headers=AUTH, json=body)
        assert unknown.status_code == 404 and carried(unknown, "event_id", EVENT) == "ev-1"
        no_key = client.post("/v1/events", json=body)
        assert no_key.status_code == 401 and carried(no_key, "event_id", EVENT)

    def test_a_503_carries_the_stored_id(self, memory: MemoryLeadGateway) -> None:
        gateway = LostAnswers(memory, lose=0)
        with client_for(gateway) as client:
            client.post("/v1/forms/contact", json={"email": "e@b.example"})
            gateway.lose = 1
            response = client.post(
                "/v1/events",
                headers=AUTH,
                json={"email": "e@b.example", "type": "page_viewed"},
            )
        assert response.status_code == 503
        assert carried(response, "event_id", EVENT) == told_events(memory)[0][1].id


class TestOtherAnswersCarryNoId:
    """Requests that record nothing new under a client's id (reads) have no such field."""

    def test_a_lead_read(self, client: TestClient) -> None:
        response = client.get("/v1/leads/nobody", headers=AUTH)
        assert response.status_code == 404
        assert set(response.json()) == {"detail"} and SUBMISSION not in response.headers


class TestRetryAfterALostAnswer:
    """On Temporal: the signal-with-start is stored, the answer lost; the API answers 503
    with the submission id; the client retries with it and the form counts once."""

    async def test_the_retry_counts_once(
        self, harness: Callable[..., AbstractAsyncContextManager[Harness]]
    ) -> None:
        async with harness() as h:
            gateway = LostAnswers(h.gateway)
            app = create_app(settings(public_rate="off"), gateway=gateway, ledger=MemoryLedger())
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
                post = {"email": "retry@globex.example", "first_name": "Ada"}
                lost = await api.post("/v1/forms/white-paper", json=post)
                assert lost.status_code == 503, lost.text
                submission_id = carried(lost, "submission_id", SUBMISSION)
                assert "may or may not have been recorded" in lost.json()["detail"]
                retry = await api.post(
                    "/v1/forms/white-paper", json={**post, "submission_id": submission_id}
                )
                assert retry.status_code == 202, retry.text
                assert carried(retry, "submission_id", SUBMISSION) == submission_id
                once = await api.post("/v1/forms/white-paper", json={"email": "once@b.example"})
            lead_id = retry.json()["lead_id"]
            view = await view_when(h, lead_id, lambda v: sent(v, "thank_you"))
            control = await view_when(h, once.json()["lead_id"], lambda v: sent(v, "thank_you"))
        thanks = [m for m in h.mailer.sent if m["To"].addresses[0].username == "retry"]
        assert [str(m["X-Nurture-Template"]) for m in thanks] == ["thank_you"]
        assert behaviour(view) == behaviour(control)  # the form scored once, as a single post
        assert behaviour(view) == [("buying_guide_download", 4, 1)]


def behaviour(view: LeadView) -> list[tuple[str, int, int]]:
    """What a lead's behaviour scored: (rule, points, times it fired)."""
    lines = [line for line in view.explanation if line.kind == "behaviour"]
    return [(line.rule, line.points, line.hits) for line in lines]
