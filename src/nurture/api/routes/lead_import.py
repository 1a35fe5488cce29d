"""``POST /v1/leads/import``: leads exported from another tool (Mautic, HubSpot, a trade
show's list), as a CSV body read while it arrives, a bounded number of rows in flight to
Temporal (a file of any size, in bounded memory; the request body limit does not apply to
it). Admin keys only: it creates leads by the thousand."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from nurture.adapters.temporal.gateway import LeadGateway
from nurture.api.deps import ApiContext, get_context, get_gateway, require_scope
from nurture.domain.models import AcquisitionSource
from nurture.services.lead_csv import PRESETS, LeadRows
from nurture.services.lead_import import ImportInterrupted, LeadImportSummary, import_leads
from nurture.services.suppression_csv import BadFile

__all__ = ["IMPORT_PATH", "router"]

IMPORT_PATH = "/v1/leads/import"

router = APIRouter(
    prefix="/v1/leads", tags=["leads"], dependencies=[Depends(require_scope("admin"))]
)

_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        "description": "A header line, then one row per lead (see the README, 'Importing').",
    }
}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@router.post(
    "/import",
    response_model=LeadImportSummary,
    summary="Import leads (CSV)",
    openapi_extra=_CSV_BODY,
    responses={
        422: {"description": "No usable header, or a bad option: nothing was imported"},
        503: {"description": "Temporal stopped taking rows: the summary says how far it went"},
    },
)
async def import_lead_rows(
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
    name: Annotated[
        str, Query(description="The import's name: the leads' origin is import:<name>.")
    ],
    dry_run: Annotated[bool, Query(description="Check every row, import nothing.")] = False,
    map_: Annotated[
        list[str],
        Query(alias="map", description="role=header: the column holding a role or custom field."),
    ] = [],  # noqa: B006 (FastAPI copies query defaults)
    preset: Annotated[
        str | None, Query(description=f"The export's tool: {', '.join(PRESETS)}.")
    ] = None,
    source: Annotated[
        AcquisitionSource | None, Query(description="Every row's source (else the file's).")
    ] = None,
    enrol: Annotated[
        bool, Query(description="Let the enrolment rules take the leads at once.")
    ] = False,
    locale: Annotated[str | None, Query(description="The language of rows that give none.")] = None,
    first_row: Annotated[
        int,
        Query(ge=0, description="Data rows before this part, when a file is sent in parts."),
    ] = 0,
    marks: Annotated[
        bool, Query(description="Return a fingerprint of each good row's lead (lead_marks).")
    ] = False,
) -> Any:
    """Hand every good row to its lead (created if new): no thank-you, no form behaviour;
    source, consent and stage from the file. Bad rows are reported (row, column, problem)
    and skipped. Importing a file again changes nothing."""
    if not _NAME.match(name):
        raise HTTPException(422, "name: 1-64 letters, digits, '.', '_' or '-'")
    default_locale = locale or context.project.defaults.locale
    if default_locale not in context.locales:
        raise HTTPException(422, f"locale: use one of {', '.join(context.locales)}")
    mapping = {}
    for item in map_:
        role, sep, column = item.partition("=")
        if not sep or not column:
            raise HTTPException(422, f"map {item!r}: give role=HEADER")
        mapping[role.strip()] = column
    try:
        rows = LeadRows(
            context.project.fields,
            name,
            mapping=mapping,
            preset=preset,
            source=source,
            enrol=enrol,
            default_locale=default_locale,
            locales=tuple(context.locales),
        )
        return await import_leads(
            request.stream(),
            rows,
            gateway,
            context.id_key,
            dry_run=dry_run,
            row_offset=first_row,
            marks=marks,
        )
    except BadFile as exc:
        raise HTTPException(422, str(exc)) from exc
    except ImportInterrupted as exc:
        body = {"detail": str(exc), "summary": exc.summary.model_dump(mode="json")}
        return JSONResponse(body, status_code=503)
