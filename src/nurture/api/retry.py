"""The id that makes retrying a write harmless, carried by every answer to it.

A client that gets no clear answer to a form post or an event (a 503, a 500, a lost
connection) cannot know whether it was recorded: Temporal may have stored it and then
failed to say so. A retry under the same id is always safe, since a lead applies an id
once. So the id is settled as the request arrives (the client's own when it sent a valid
one, else one made up here, once) and every answer carries it, errors included: as a body
field and in a header.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter, ValidationError

from nurture.domain.models import RetryId

__all__ = ["RetryKey", "current_retry_key", "retry_key", "retry_key_responses"]

_RETRY_ID: TypeAdapter[str] = TypeAdapter(RetryId)


@dataclass
class RetryKey:
    """The id of one request, under the body ``field`` and the ``header`` that carry it."""

    field: str
    header: str
    value: str

    def adopt(self, sent: object) -> None:
        """Take the client's own id, if it sent a valid one (an invalid one is reported by
        the body's validation; the answer then carries the id made up here)."""
        if isinstance(sent, str):
            with contextlib.suppress(ValidationError):
                self.value = _RETRY_ID.validate_python(sent.strip())

    def stamp(self, response: Response) -> None:
        """Put the id in the header of ``response``."""
        response.headers[self.header] = self.value


def retry_key(field: str, header: str) -> Callable[[Request], RetryKey]:
    """A dependency settling the request's :class:`RetryKey` before anything else can fail;
    list it first among a router's dependencies."""

    def settle(request: Request) -> RetryKey:
        key = RetryKey(field, header, uuid.uuid4().hex)
        request.state.retry_key = key
        return key

    return settle


def current_retry_key(request: Request) -> RetryKey | None:
    """The request's id, if its route settles one (for answers built outside the route)."""
    key: RetryKey | None = getattr(request.state, "retry_key", None)
    return key


def retry_key_responses(field: str, header: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answers a route settling a retry id documents: the header, and the 503."""
    doc = {"description": f"The {field} (in every answer, errors included): retry with it"}
    return {
        202: {"headers": {header: {**doc, "schema": {"type": "string"}}}},
        503: {"description": f"The lead store did not answer: retry with the same {field}"},
    }
