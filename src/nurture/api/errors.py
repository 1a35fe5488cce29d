"""Error responses: one shape for every 4xx, naming the field and the rule; no internals."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from temporalio.service import RPCError

from nurture.leads import ActionRefused, LeadNotFound, LeadPending

__all__ = ["body_errors", "install_error_handlers"]

log = logging.getLogger("nurture.api")


def body_errors(exc: ValidationError) -> RequestValidationError:
    """A model validated by hand from a request body fails like FastAPI's own body
    validation (the same 422 shape, located in the body)."""
    return RequestValidationError(
        [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_context=False)]
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI prefixes locations with "body"/"query"/"path": keep the field path only.
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
                "message": str(e["msg"]),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(LeadNotFound)
    async def not_found(request: Request, exc: LeadNotFound) -> JSONResponse:
        email = getattr(request.state, "lead_email", None)  # see deps.lead_id_by_email
        if email:
            exc = exc.named_by(email)
        if isinstance(exc, LeadPending):
            # Accepted, not yet applied: still a 404 (there is nothing to show), but one a
            # client can tell from an unknown id, with when to look again.
            return JSONResponse(
                {"detail": str(exc), "pending": True},
                status.HTTP_404_NOT_FOUND,
                headers={"Retry-After": "1"},
            )
        return JSONResponse({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)

    @app.exception_handler(ActionRefused)
    async def refused(_: Request, exc: ActionRefused) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Never a stack trace or an internal name in the answer: an id to find it in the log.
        error_id = uuid.uuid4().hex[:12]
        log.error("internal error %s", error_id, exc_info=exc)
        return JSONResponse(
            {"detail": "internal error; nothing more is said here", "error_id": error_id},
            status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    @app.exception_handler(RPCError)
    async def temporal_down(_: Request, exc: RPCError) -> JSONResponse:
        log.error("Temporal call failed: %s (%s)", exc.message, exc.status)
        return JSONResponse(
            {"detail": "the lead store is unavailable; nothing was recorded, retry later"},
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )
