"""The nurture worker: settings → client → adapters → Worker. Wiring only.

Run it as ``nurture worker`` (which runs this file) or ``python worker.py``, with the settings
in the environment (see the README); start as many as you like against the same Temporal
namespace and task queue to scale out.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from temporalio.worker import Worker

from activities import (
    ConfigActivities,
    EmailActivities,
    FactActivities,
    SalesActivities,
    WebhookActivities,
)
from nurture.adapters.configstore import open_config_store
from nurture.adapters.factlog import open_fact_store
from nurture.adapters.ledger import open_ledger
from nurture.adapters.links.links import links_for
from nurture.adapters.mail.dkim import dkim_for
from nurture.adapters.mail.rendering import TemplateRenderer
from nurture.adapters.mail.smtp import SmtpMailer
from nurture.adapters.temporal.client import connect
from nurture.adapters.temporal.runner import workflow_runner
from nurture.adapters.temporal.webhooks import WebhookPublisher
from nurture.config.check import exit_if_invalid
from nurture.config.files import load_project_config
from nurture.config.settings import Settings
from nurture.config.webhooks import webhook_secrets
from nurture.domain.emails import mail_task_queue
from workflows import LeadWorkflow, RouterWorkflow, SequenceWorkflow, WebhookWorkflow


async def main() -> None:
    settings = Settings()
    exit_if_invalid(settings, "worker")  # every config problem, by file and line, or go on
    project = load_project_config(settings.path(settings.config_file))
    client = await connect(settings.temporal)
    ledger = open_ledger(settings.ledger_url, settings.home)
    fact_store = open_fact_store(settings.ledger_url, settings.home)
    mailer = SmtpMailer(settings.smtp)
    emails = EmailActivities(
        TemplateRenderer(settings.path(settings.templates_dir), project.defaults.locale),
        mailer,
        ledger,
        project.brand,
        links_for(settings, project.brand),
        settings.secret(),
        project.tracking,
        dkim_for(settings, project.brand.from_email),
        mailer.answer_timeout,
    )
    sales = SalesActivities(
        client,
        settings.temporal.task_queue,
        settings.path(settings.sales_file),
        links_for(settings, project.brand),
    )
    config_store = open_config_store(settings.ledger_url, settings.home)
    config = ConfigActivities(
        settings.path(settings.scoring_file),
        settings.path(settings.config_file),
        sales.team,
        config_store,
    )
    await config.preload()  # every version a run in flight may replay on
    queue = settings.temporal.task_queue
    webhooks = WebhookActivities(project.webhooks, webhook_secrets(project.webhooks))
    publisher = WebhookPublisher(client, queue, project.webhooks) if project.webhooks else None
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[LeadWorkflow, SequenceWorkflow, RouterWorkflow, WebhookWorkflow],
        # Workflow runs share nurture's modules instead of re-importing them each.
        workflow_runner=workflow_runner(sandboxed=settings.worker.sandbox),
        max_cached_workflows=settings.worker.max_cached_workflows,
        max_concurrent_workflow_tasks=settings.worker.max_concurrent_workflow_tasks,
        max_concurrent_activities=settings.worker.max_concurrent_activities,
        activities=[
            *emails.activities(),
            *config.activities(),
            *sales.activities(),
            *FactActivities(fact_store, publisher).activities(),
            *webhooks.activities(),
        ],
    )
    # Sends wait for a relay connection in Temporal's queue, not inside a running attempt.
    mail_worker = Worker(
        client,
        task_queue=mail_task_queue(queue),
        activities=emails.sending(),
        max_concurrent_activities=settings.smtp.pool_size,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with worker, mail_worker, config.fetching():
        logging.info("worker polling task queues %r and %r", queue, mail_task_queue(queue))
        await stop.wait()
    await mailer.close()
    await webhooks.close()
    await ledger.close()
    await fact_store.close()
    await config_store.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    asyncio.run(main())
