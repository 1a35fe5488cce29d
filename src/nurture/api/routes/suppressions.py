"""``POST /v1/suppressions/import``: a suppression list exported from another tool, as a CSV
body read while it arrives (a file of any size, in bounded memory; the request body limit
does not apply to it). Admin keys only: it decides who never hears from nurture again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from nurture.adapters.ledger import SendLedger
from nurture.api.deps import ApiContext, get_context, get_ledger, require_scope
from nurture.services.suppression_csv import BadFile, ImportedReason
from nurture.services.suppression_import import ImportSummary, import_suppressions

__all__ = ["IMPORT_PATH", "router"]

IMPORT_PATH = "/v1/suppressions/import"

router = APIRouter(
    prefix="/v1/suppressions",
    tags=["suppressions"],
    dependencies=[Depends(require_scope("admin"))],
)

_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        "description": "A header line, then one row per address (see the README).",
    }
}


@router.post(
    "/import",
    response_model=ImportSummary,
    summary="Import a suppression list (CSV)",
    openapi_extra=_CSV_BODY,
    responses={422: {"description": "No usable header: nothing was imported"}},
)
async def import_list(
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    ledger: Annotated[SendLedger, Depends(get_ledger)],
    dry_run: Annotated[bool, Query(description="Check every row, write nothing.")] = False,
    map_: Annotated[
        list[str],
        Query(alias="map", description="role=header: the column holding email or reason."),
    ] = [],  # noqa: B006 (FastAPI copies query defaults)
    reason: Annotated[
        ImportedReason | None, Query(description="The reason of rows that give none.")
    ] = None,
) -> ImportSummary:
    """Put every good row's address on the suppression list (a keyed hash, as an unsubscribe
    does); report bad rows (row, column, problem) and skip them; a row already suppressed
    changes nothing."""
    mapping = {}
    for item in map_:
        role, sep, column = item.partition("=")
        if not sep or role not in ("email", "reason"):
            raise HTTPException(422, f"map {item!r}: give email=HEADER or reason=HEADER")
        mapping[role] = column
    try:
        return await import_suppressions(
            request.stream(),
            ledger,
            context.id_key,
            datetime.now(UTC),
            dry_run=dry_run,
            mapping=mapping,
            default_reason=reason,
        )
    except BadFile as exc:
        raise HTTPException(422, str(exc)) from exc
