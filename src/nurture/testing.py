"""Fakes for testing nurture and the sequences built on it, without a network.

``MemoryLedger``, ``MemoryFactStore``, ``MemoryConfigStore`` and ``RecordingMailer`` replace
the ledger, the facts log, the configuration snapshots' store and the SMTP mailer; and
``ScriptedSmtpServer`` is a real SMTP server on 127.0.0.1 whose answers a test scripts
(``451`` now, ``550`` for that address...), for tests of the real SMTP path.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from aiosmtpd.controller import Controller

from nurture.adapters.factlog.base import erased_lead_hash
from nurture.adapters.ledger import LedgerEntry, SendStatus, Suppression, stronger
from nurture.adapters.mail.message import Outgoing
from nurture.adapters.mail.smtp import DeliveryError, Transfer
from nurture.adapters.temporal.gateway import ActionRefused, LeadNotFound, LeadPending
from nurture.domain.config import ConfigSnapshot
from nurture.domain.factlog import Fact
from nurture.domain.lead.imports import ImportedLead
from nurture.domain.lead.input import ErasureFacts
from nurture.domain.lead.listing import LeadFilters, LeadPage
from nurture.domain.lead.messages import LeadMessage
from nurture.domain.lead.view import LeadView
from nurture.domain.models import FormSubmitted
from nurture.domain.sales.records import SalesAction

__all__ = [
    "HttpRecorder",
    "MemoryConfigStore",
    "MemoryFactStore",
    "MemoryLeadGateway",
    "MemoryLedger",
    "RecordingMailer",
    "ScriptedSmtpServer",
    "free_port",
]


class HttpRecorder:
    """An HTTP server on a free port of 127.0.0.1 that records each POST it accepts as
    ``(path, body)`` and answers 503 to the first ``fail_first`` (a webhook receiver, the
    API as the sink sees it). Use it in a ``with`` block."""

    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[tuple[str, bytes]] = []
        self.attempts = 0
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.attempts += 1
                if recorder.attempts <= fail_first:
                    self.send_response(503)
                else:
                    recorder.posts.append((self.path, body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HttpRecorder:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MemoryLedger:
    """A send ledger in a dict."""

    def __init__(self) -> None:
        self.entries: dict[str, LedgerEntry] = {}
        self.suppressions: dict[str, Suppression] = {}
        self.soft_bounces: dict[str, tuple[str, datetime]] = {}

    async def find(self, key: str) -> LedgerEntry | None:
        return self.entries.get(key)

    async def record(self, entry: LedgerEntry) -> None:
        self.entries.setdefault(entry.key, entry)

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        held = self.entries.setdefault(entry.key, entry)
        return None if held is entry else held

    async def settle(self, key: str, status: SendStatus) -> bool:
        entry = self.entries.get(key)
        if entry is None or entry.status != "sending":
            return False
        self.entries[key] = entry.model_copy(update={"status": status})
        return True

    async def release(self, key: str) -> bool:
        entry = self.entries.get(key)
        if entry is None or entry.status != "sending":
            return False
        del self.entries[key]
        return True

    async def suppression(self, address_hash: str) -> Suppression | None:
        return self.suppressions.get(address_hash)

    async def suppress(self, entry: Suppression) -> Suppression:
        kept = stronger(self.suppressions.get(entry.address_hash), entry)
        self.suppressions[entry.address_hash] = kept
        return kept

    async def suppress_many(self, entries: Sequence[Suppression]) -> set[str]:
        before = {e.address_hash: self.suppressions.get(e.address_hash) for e in entries}
        return {e.address_hash for e in entries if await self.suppress(e) != before[e.address_hash]}

    async def count_soft_bounce(
        self, address_hash: str, report_id: str, at: datetime, since: datetime
    ) -> int:
        self.soft_bounces.setdefault(report_id, (address_hash, at))
        return sum(1 for h, t in self.soft_bounces.values() if h == address_hash and t >= since)

    async def forget_lead(self, lead_id: str) -> int:
        gone = [k for k, e in self.entries.items() if e.lead_id == lead_id]
        for key in gone:
            del self.entries[key]
        return len(gone)

    async def close(self) -> None:
        return None


class MemoryFactStore:
    """A facts store in a dict: append-only, idempotent by fact id."""

    def __init__(self) -> None:
        self.facts: dict[str, Fact] = {}
        self.appends = 0
        """How many batches were appended (a workflow writes at most one per task)."""
        self.erased: dict[str, datetime] = {}
        """When each erased lead was erased, by ``erased_lead_hash``."""
        self.changes = 0
        """How many facts were added or deleted (its high-water mark)."""

    async def append(self, facts: Sequence[Fact]) -> int:
        self.appends += 1
        before = len(self.facts)
        for fact in facts:
            erased_at = self.erased.get(erased_lead_hash(fact.lead_id))
            if erased_at is None or fact.at > erased_at:
                self.facts.setdefault(fact.id, fact)
        self.changes += len(self.facts) - before
        return len(self.facts) - before

    async def read(
        self,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        lead_ids: Iterable[str] | None = None,
    ) -> AsyncIterator[Fact]:
        wanted = None if kinds is None else set(kinds)
        leads = None if lead_ids is None else set(lead_ids)
        for fact in sorted(self.facts.values(), key=lambda f: (f.lead_id, f.at, f.id)):
            if wanted is not None and fact.kind not in wanted:
                continue
            if leads is not None and fact.lead_id not in leads:
                continue
            if (since is not None and fact.at < since) or (until is not None and fact.at >= until):
                continue
            yield fact

    async def forget_lead(self, lead_id: str, erased_at: datetime) -> int:
        key = erased_lead_hash(lead_id)
        self.erased[key] = max(erased_at, self.erased.get(key, erased_at))
        gone = [k for k, f in self.facts.items() if f.lead_id == lead_id]
        for key in gone:
            del self.facts[key]
        self.changes += len(gone)
        return len(gone)

    async def high_water_mark(self) -> str:
        return str(self.changes)

    async def close(self) -> None:
        return None


class MemoryConfigStore:
    """Configuration snapshots in a dict, kept as their JSON, as a database would."""

    def __init__(self) -> None:
        self.bodies: dict[str, str] = {}

    async def put(self, digest: str, snapshot: ConfigSnapshot) -> None:
        self.bodies.setdefault(digest, snapshot.canonical_json())

    async def get(self, digest: str) -> ConfigSnapshot | None:
        body = self.bodies.get(digest)
        return None if body is None else ConfigSnapshot.model_validate_json(body)

    async def all(self) -> dict[str, ConfigSnapshot]:
        return {d: ConfigSnapshot.model_validate_json(b) for d, b in self.bodies.items()}

    async def close(self) -> None:
        return None


_Message = TypeVar("_Message")


@dataclass
class MemoryLeadGateway:
    """Records what the API hands to lead workflows; ``views`` answers reads."""

    forms: list[tuple[str, FormSubmitted]] = field(default_factory=list)
    imports: list[tuple[str, ImportedLead]] = field(default_factory=list)
    """Every imported row handed to a lead, in order."""
    messages: list[tuple[str, LeadMessage]] = field(default_factory=list)
    """Every message told to an existing lead (events, opt-outs...), in order."""
    views: dict[str, LeadView] = field(default_factory=dict)
    actions: list[tuple[str, SalesAction]] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)
    """Lead id → address, as the lead's workflow knows it (forms fill it)."""
    erased: list[str] = field(default_factory=list)
    refuse: str | None = None
    """Set to make the next actions refused with this reason."""
    open_counts: dict[str, int] = field(default_factory=dict)
    """What ``open_leads`` answers: open leads per rep."""

    page: LeadPage = field(default_factory=lambda: LeadPage(leads=()))
    """What every list answers (visibility's filtering is tested against a real server)."""
    pages: dict[LeadFilters, LeadPage] = field(default_factory=dict)
    """What a list with exactly these filters answers, instead of ``page``."""
    listings: list[tuple[LeadFilters, int, str | None]] = field(default_factory=list)
    """Every list asked for: filters, page size, page token."""

    def _require(self, lead_id: str) -> None:
        """:class:`LeadNotFound` unless a form created the lead or it has a view."""
        if lead_id not in {known for known, _ in self.forms} | set(self.views):
            raise LeadNotFound(lead_id)

    async def submit_form(self, lead_id: str, form: FormSubmitted) -> None:
        self.forms.append((lead_id, form))
        self.addresses[lead_id] = str(form.lead.email)

    async def import_lead(self, lead_id: str, row: ImportedLead) -> None:
        self.imports.append((lead_id, row))
        self.addresses[lead_id] = str(row.lead.email)

    def received(self, kind: type[_Message]) -> list[tuple[str, _Message]]:
        """The messages of one kind told so far, with the lead each went to."""
        return [(lead_id, m) for lead_id, m in self.messages if isinstance(m, kind)]

    async def tell(self, lead_id: str, message: LeadMessage) -> None:
        self._require(lead_id)
        self.messages.append((lead_id, message))

    async def get_lead(self, lead_id: str) -> LeadView:
        if lead_id in self.views:
            return self.views[lead_id]
        if lead_id in {known for known, _ in self.forms}:
            raise LeadPending(lead_id)  # like a workflow that has not applied its form yet
        raise LeadNotFound(lead_id)

    async def erasure_facts(self, lead_id: str) -> ErasureFacts:
        if lead_id not in self.addresses:
            raise LeadNotFound(lead_id)
        return ErasureFacts(email=self.addresses[lead_id], workflow_ids=(f"lead-{lead_id}",))

    async def delete_workflows(self, lead_id: str, workflow_ids: tuple[str, ...]) -> int:
        known = lead_id in self.addresses or lead_id in self.views
        self.addresses.pop(lead_id, None)
        self.views.pop(lead_id, None)
        self.forms = [(known_id, f) for known_id, f in self.forms if known_id != lead_id]
        self.erased.append(lead_id)
        return 1 if known else 0

    async def open_leads(self) -> dict[str, int]:
        return dict(self.open_counts)

    async def list_leads(
        self, filters: LeadFilters, page_size: int, page_token: str | None
    ) -> LeadPage:
        self.listings.append((filters, page_size, page_token))
        return self.pages.get(filters, self.page)

    async def act(self, lead_id: str, action: SalesAction) -> LeadView:
        view = await self.get_lead(lead_id)
        if self.refuse:
            raise ActionRefused(self.refuse)
        self.actions.append((lead_id, action))
        return view


@dataclass
class RecordingMailer:
    """A mailer that keeps messages (parsed in ``sent``, as sent in ``raw``); queue errors
    in ``failures`` to have the next transfers refused with them, before any data."""

    sent: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    failures: deque[DeliveryError] = field(default_factory=deque)

    @asynccontextmanager
    async def transfer(self, message: Outgoing) -> AsyncIterator[Transfer]:
        if self.failures:
            raise self.failures.popleft()
        yield _RecordedTransfer(self, message)


@dataclass
class _RecordedTransfer:
    mailer: RecordingMailer
    message: Outgoing

    async def commit(self) -> None:
        self.mailer.raw.append(self.message.data)
        parsed = message_from_bytes(self.message.data, policy=policy.default)
        self.mailer.sent.append(parsed)


class _ScriptedHandler:
    def __init__(self, server: ScriptedSmtpServer) -> None:
        self._server = server

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self._server.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self._server.recipients += 1
        await asyncio.sleep(self._server.rcpt_after)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self._server.attempts += 1
        if self._server.script:
            return self._server.script.popleft()
        if self._server.hold is not None:
            return self._server.hold
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self._server.messages.append(parsed)
        self._server.raw.append(bytes(envelope.content))
        # Kept before answering, as a relay that has queued the message: a client that
        # stops waiting does not make it undelivered.
        await asyncio.sleep(self._server.answer_after)
        return "250 OK"


class ScriptedSmtpServer:
    """A real SMTP server on loopback; answers come from ``script``, then ``hold``, else 250.

    Use it as a context manager::

        with ScriptedSmtpServer() as smtp:
            smtp.script.append("451 4.3.0 try again later")

    ``answer_after`` and ``rcpt_after`` make it a slow relay (seconds before it answers the
    end of a message, which it keeps all the same, or a recipient); ``smtputf8`` offers
    SMTPUTF8 (RFC 6531).
    """

    def __init__(self, *, smtputf8: bool = False) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        """Each accepted message exactly as it arrived (after SMTP's dot-unstuffing)."""
        self.script: deque[str] = deque()
        self.hold: str | None = None
        """An answer given to every message while set (say ``"451 4.3.0 hold"``)."""
        self.answer_after = 0.0
        self.rcpt_after = 0.0
        self.attempts = 0
        """Messages whose end of data arrived (answered whatever way)."""
        self.recipients = 0
        """RCPT commands received (before any answer to them)."""
        self.greetings = 0
        """EHLOs received: one per connection a client opened."""
        self._smtputf8 = smtputf8
        self._controller = self._make_controller()

    def _make_controller(self) -> Controller:
        return Controller(
            _ScriptedHandler(self),
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=self._smtputf8,
        )

    def __enter__(self) -> ScriptedSmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def restart(self) -> None:
        """Drop every connection, as a relay restarting or timing out idle clients does."""
        self._controller.stop()
        self._controller = self._make_controller()
        self._controller.start()
