"""How admins see a lead in the Temporal UI without its address: a short label ("Ada L. ·
Acme"), the summary a lead's workflow starts with, and the markdown its details are made of.

The UI renders the details in a frame whose tables have no cell padding: cells written
flush run together ("pointshits"). Every column after the first opens with no-break
spaces, which the UI's renderer keeps (it trims ordinary spaces) and cannot break a line
at, so the columns stay apart there and in a terminal alike. Text a person typed (a name,
a company, a rep's note) is escaped: it can neither break a table nor become markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

from nurture.domain.models import ContactDetails, FormSubmitted

__all__ = ["COLUMN_GAP", "lead_label", "md_table", "md_text", "start_summary"]

COLUMN_GAP = "\u00a0" * 3
"""No-break spaces opening every cell after the first: the gap between columns. (An em
space would do but for the narrow panel, where a line breaks after it.)"""
_SEPARATOR = " · "
_MARKUP = re.compile(r"([\\`*\[\]<>|])")

Align = Literal["left", "right"]


def lead_label(contact: ContactDetails | None) -> str:
    """First name and last initial, then the company: never the address."""
    if contact is None:
        return "unnamed lead"
    initial = f"{contact.last_name[0]}." if contact.last_name else None
    name = " ".join(p for p in (contact.first_name, initial) if p) or "unnamed lead"
    return _SEPARATOR.join(p for p in (name, contact.company) if p)


def start_summary(form: FormSubmitted) -> str:
    """The static summary a lead's workflow gets when its first form starts it: who, and
    the form (stage and score come from the workflow, in its current details)."""
    return f"{lead_label(form.lead)}{_SEPARATOR}{form.form_id} form"


def import_summary(lead: ContactDetails, batch: str) -> str:
    """The static summary of a lead an import starts: who, and the import."""
    return f"{lead_label(lead)}{_SEPARATOR}import {batch}"


def md_text(text: str) -> str:
    """``text`` as literal markdown: every character that could be markup escaped."""
    return _MARKUP.sub(r"\\\1", text)


def md_table(columns: Sequence[tuple[str, Align]], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GFM table with its header separator row and a blank line before and after.

    Cells are taken as markdown (escape typed text with :func:`md_text` first); a line
    break in one would end the table, so it becomes a space."""

    def line(cells: Sequence[str]) -> str:
        flat = [" ".join(c.splitlines()) for c in cells]  # keeps the no-break spaces
        return "| " + " | ".join([flat[0], *(COLUMN_GAP + c for c in flat[1:])]) + " |"

    rule = "| " + " | ".join(":--" if a == "left" else "--:" for _, a in columns) + " |"
    return ["", line([name for name, _ in columns]), rule, *(line(r) for r in rows), ""]
