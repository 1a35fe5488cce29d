"""Outbound webhooks' pure core and configuration: which facts each event is, what a
subscription may say, and how a lead's deliveries are queued, deduplicated, given up,
replayed and dropped at erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from nurture.config.check import check_configuration
from nurture.config.files import load_project_config
from nurture.config.project import ProjectConfig
from nurture.config.settings import Settings
from nurture.config.webhooks import missing_secrets, webhook_secrets
from nurture.domain.factlog import Fact, fact_id
from nurture.domain.webhooks import (
    SEEN_LIMIT,
    Notice,
    WebhookStream,
    WebhookSubscription,
    event_of,
    payload,
    sequence_after,
    webhook_workflow_id,
)
from nurture.errors import ConfigError
from nurture.services.erasure import erase_lead
from nurture.testing import MemoryFactStore, MemoryLeadGateway, MemoryLedger
from tests.configfiles import copy_project
from tests.helpers import SECRET, submission

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def fact(kind: str, n: int, lead: str = "L1", at: datetime = T0) -> Fact:
    data = {"from_stage": "new", "to_stage": "mql"} if kind == "stage_changed" else {}
    return Fact(id=fact_id(lead, kind, n), lead_id=lead, kind=kind, at=at, data=data)


def notice(*facts: Fact, subs: tuple[str, ...] = ("crm",)) -> Notice:
    wanted = tuple((name, DAY) for name in subs)
    return Notice(lead_id=facts[0].lead_id, facts=tuple((f, wanted) for f in facts))


def sub(**changes: object) -> dict[str, object]:
    return {
        "url": "https://crm.example.com/in",
        "secret_env": "CRM_SECRET",
        "events": ["created"],
        **changes,
    }


def with_webhooks(home: Path, rest: str) -> Path:
    """A project folder whose nurture.toml ends with a ``[webhooks.hubspot]`` table."""
    copy_project(home)
    path = home / "config" / "nurture.toml"
    table = '\n[webhooks.hubspot]\nurl = "https://x.example/h"\nsecret_env = "HS_SECRET"\n'
    path.write_text(path.read_text() + table + rest)
    return home


class TestEvents:
    """Each event stands for its facts; other facts are no event."""

    @pytest.mark.parametrize(
        ("kind", "event"),
        [
            ("lead_created", "created"),
            ("stage_changed", "stage_changed"),
            ("assigned", "handed_off"),
            ("pooled", "handed_off"),
            ("sales_action", "sales_action"),
            ("complained", "unsubscribed"),
            ("erased", "erased"),
            ("email_sent", None),
        ],
    )
    def test_event_of(self, kind: str, event: str | None) -> None:
        assert event_of(kind) == event

    def test_subscription_wants_its_events_only(self) -> None:
        subscription = WebhookSubscription.model_validate(sub(events=["handed_off"]))
        assert subscription.wants("assigned") and not subscription.wants("lead_created")

    def test_payload_is_thin(self) -> None:
        stream = WebhookStream(lead_id="L1")
        stream.accept(notice(fact("stage_changed", 1)))
        body = payload(stream.queues["crm"][0])
        assert set(body) == {
            "id",
            "subscription",
            "event",
            "kind",
            "lead_id",
            "occurred_at",
            "sequence",
            "data",
        }
        assert body["event"] == "stage_changed" and body["id"].startswith("crm:stage_changed:")

    def test_workflow_id_under_the_lead(self) -> None:
        assert webhook_workflow_id("abc") == "lead-abc/webhooks"


class TestSubscriptionConfig:
    """A subscription's table is validated, errors naming the field."""

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"events": ["created", "bounced"]}, "events"),
            ({"events": []}, "events"),
            ({"url": "crm.example.com/in"}, "url"),
            ({"secret_env": "s3cr3t value"}, "secret_env"),
            ({"timeout": 0}, "timeout"),
            ({"give_up_after": "10s"}, "give_up_after"),
            ({"secret": "inline"}, "secret"),
        ],
    )
    def test_refused(self, changes: dict[str, object], field: str) -> None:
        with pytest.raises(ValidationError) as caught:
            WebhookSubscription.model_validate(sub(**changes))
        assert field in str(caught.value)

    def test_project_file_with_webhooks(self, tmp_path: Path) -> None:
        home = with_webhooks(tmp_path, 'events = ["created", "erased"]\ngive_up_after = "2d"\n')
        project = load_project_config(home / "config" / "nurture.toml")
        assert project.webhooks["hubspot"].give_up_after == timedelta(days=2)

    def test_config_check_names_the_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An unknown event and an unset secret are errors at their lines."""
        monkeypatch.delenv("HS_SECRET", raising=False)
        home = with_webhooks(tmp_path, 'events = ["created", "opened"]\n')
        [error] = check_configuration(Settings(home=home)).errors
        assert "webhooks.hubspot.events.1" in str(error) and "'erased'" in str(error)
        home = with_webhooks(tmp_path / "2", 'events = ["created"]\n')
        [error] = check_configuration(Settings(home=home)).errors
        assert "webhooks.hubspot.secret_env" in str(error) and "HS_SECRET is not set" in str(error)
        monkeypatch.setenv("HS_SECRET", "s3cret")
        assert not check_configuration(Settings(home=home)).errors

    def test_secrets_from_the_environment(self) -> None:
        project = ProjectConfig.model_validate(
            {
                "brand": {"company": "A", "website": "w", "from_email": "a@b.c", "from_name": "A"},
                "webhooks": {"crm": sub()},
            }
        )
        assert list(missing_secrets(project, {})) == [("crm", "CRM_SECRET")]
        assert webhook_secrets(project.webhooks, {"CRM_SECRET": "s"}) == {"crm": b"s"}
        with pytest.raises(ConfigError, match=r"webhooks\.crm\.secret_env: set CRM_SECRET"):
            webhook_secrets(project.webhooks, {"CRM_SECRET": ""})


class TestStream:
    """A lead's deliveries: a queue per subscription, copies dropped, in order."""

    def test_copies_are_dropped(self) -> None:
        stream = WebhookStream(lead_id="L1")
        created, changed = fact("lead_created", 1), fact("stage_changed", 2)
        assert stream.accept(notice(created, changed)) == 2
        assert stream.accept(notice(created, changed)) == 0
        assert [d.fact for d in stream.queues["crm"]] == [created, changed]

    def test_a_queue_per_subscription(self) -> None:
        stream = WebhookStream(lead_id="L1")
        stream.accept(notice(fact("lead_created", 1), subs=("crm", "bi")))
        head = stream.head("crm")
        assert head is not None
        stream.give_up(head, 1, "HTTP 400", T0)
        assert stream.waiting() == ["bi"]
        assert [letter.delivery.subscription for letter in stream.dead] == ["crm"]

    def test_sequence_increases_even_at_one_moment(self) -> None:
        stream = WebhookStream(lead_id="L1")
        stream.accept(notice(fact("lead_created", 1), fact("stage_changed", 2)))
        first, second = (d.sequence for d in stream.queues["crm"])
        assert second == first + 1
        later = fact("stage_changed", 3, at=T0 + timedelta(seconds=1))
        assert sequence_after(0, later) > second  # a new stream still goes on increasing

    def test_delivered_only_removes_the_head_it_sent(self) -> None:
        stream = WebhookStream(lead_id="L1")
        stream.accept(notice(fact("lead_created", 1), fact("stage_changed", 2)))
        second = stream.queues["crm"][1]
        stream.delivered(second)
        assert len(stream.queues["crm"]) == 2

    def test_replay_puts_dead_letters_first_in_order(self) -> None:
        stream = WebhookStream(lead_id="L1")
        stream.accept(notice(*(fact("stage_changed", n) for n in range(3))))
        for _ in range(2):
            head = stream.head("crm")
            assert head is not None
            stream.give_up(head, 1, "HTTP 410", T0)
        assert stream.replay() == 2
        assert [d.fact.id for d in stream.queues["crm"]] == [
            fact("stage_changed", n).id for n in range(3)
        ]
        assert stream.dead == []

    def test_erasure_drops_everything_else(self) -> None:
        stream = WebhookStream(lead_id="L1")
        stream.accept(notice(fact("lead_created", 1)))
        head = stream.head("crm")
        assert head is not None
        stream.give_up(head, 1, "HTTP 400", T0)
        stream.accept(notice(fact("stage_changed", 2)))
        stream.accept(notice(fact("erased", 3), fact("stage_changed", 4)))
        assert [d.fact.kind for d in stream.queues["crm"]] == ["erased"]
        assert stream.dead == []

    def test_seen_is_bounded(self) -> None:
        stream = WebhookStream(lead_id="L1")
        stream.accept(notice(*(fact("stage_changed", n) for n in range(SEEN_LIMIT + 5))))
        assert len(stream.seen) == SEEN_LIMIT


class TestErasureAnnounced:
    """Erasure tells the webhooks once the lead's workflows (its webhook workflow with
    them) are gone, and again when repeated, so an announcement that failed is not lost."""

    async def test_announced_after_deletion_and_on_repeat(self) -> None:
        gateway, told = MemoryLeadGateway(), []
        await gateway.submit_form("L1", submission())
        ada = str(submission().lead.email)

        async def announce(lead_id: str, now: datetime) -> None:
            assert "L1" in gateway.erased  # the workflows went first
            told.append((lead_id, now))

        for _ in range(2):
            await erase_lead(
                gateway,
                MemoryLedger(),
                MemoryFactStore(),
                None,
                "L1",
                ada,
                SECRET,
                T0,
                announce=announce,
            )
        assert told == [("L1", T0), ("L1", T0)]
