"""The Temporal client factory and search-attribute registration.

Every process builds its client here, so the pydantic data converter is used everywhere and
Temporal Cloud (API key or mTLS) is configuration, not code.
"""

from __future__ import annotations

import json

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from nurture.config.settings import TemporalSettings
from workflows import search_attributes

__all__ = [
    "DEV_SERVER_CONFIG",
    "connect",
    "count_sequence_runs",
    "dev_server_flags",
    "register_search_attributes",
]


def _tls(settings: TemporalSettings) -> TLSConfig | bool:
    if not (settings.tls or settings.tls_cert or settings.api_key):
        return False
    if not (settings.tls_cert or settings.tls_ca or settings.tls_server_name):
        return True
    return TLSConfig(
        client_cert=settings.tls_cert.read_bytes() if settings.tls_cert else None,
        client_private_key=settings.tls_key.read_bytes() if settings.tls_key else None,
        server_root_ca_cert=settings.tls_ca.read_bytes() if settings.tls_ca else None,
        domain=settings.tls_server_name,
    )


async def connect(settings: TemporalSettings) -> Client:
    """A client for the configured server, with the pydantic data converter."""
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        data_converter=pydantic_data_converter,
        tls=_tls(settings),
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
    )


DEV_SERVER_CONFIG = {"matching.numTaskqueueWritePartitions": 1}
"""Dynamic configuration of the embedded dev server. Temporal orders waiting tasks by
priority (``workflows/priorities.py``) within each partition of a task queue, of which a
queue has four: a thank-you written to one waited behind up to six marketing sends taken
from the others (measured), behind at most two once every task is written to one. Reads
keep their four partitions, so tasks written before (an existing ``.nurture/``) still
drain. On one host this costs no measurable throughput; production: README, "Scaling out".
"""


def dev_server_flags() -> list[str]:
    """``temporal server start-dev`` flags: nurture's search attributes, and
    :data:`DEV_SERVER_CONFIG`."""
    flags: list[str] = []
    for setting, value in DEV_SERVER_CONFIG.items():
        flags += ["--dynamic-config-value", f"{setting}={json.dumps(value)}"]
    for key in search_attributes.ALL:
        flags += ["--search-attribute", f"{key.name}={_type_name(key.indexed_value_type)}"]
    return flags


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Add nurture's missing search attributes through the operator service (idempotent).

    The time-skipping test server cannot list attributes; there every one is added.
    """
    wanted = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in search_attributes.ALL
    }
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
    else:
        wanted = {k: v for k, v in wanted.items() if k not in existing.custom_attributes}
    if wanted:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=wanted, namespace=namespace)
        )


async def count_sequence_runs(
    client: Client, versions: list[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """How many sequence workflows run each (name, version) now, by visibility query."""
    counts = {}
    for name, version in versions:
        query = (
            f"WorkflowType = 'SequenceWorkflow' AND ExecutionStatus = 'Running' "
            f"AND {search_attributes.SEQUENCE.name} = '{name}' "
            f"AND {search_attributes.SEQUENCE_VERSION.name} = {version}"
        )
        counts[(name, version)] = (await client.count_workflows(query)).count
    return counts


def _type_name(kind: SearchAttributeIndexedValueType) -> str:
    return {
        SearchAttributeIndexedValueType.KEYWORD: "Keyword",
        SearchAttributeIndexedValueType.INT: "Int",
        SearchAttributeIndexedValueType.DATETIME: "Datetime",
    }[kind]
