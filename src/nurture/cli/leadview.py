"""A lead, and lists of leads, as a person reads them in a terminal: Rich panels and
tables, every moment in the reader's time zone.

Built from the API's answers (``LeadView``, ``LeadPage``) only, so what the terminal shows
is what any API client can know; ``--json`` prints those answers as they came.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

from rich import box
from rich.console import RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from nurture.domain.lead.listing import LeadPage
from nurture.domain.lead.view import LeadView
from nurture.domain.sales.records import HandOff

__all__ = ["lead_renderables", "leads_table", "when"]

_MISSING = "—"
_FULL_WIDTH = 100
"""The narrowest terminal the lead list shows every column in."""


def when(moment: datetime | None, zone: tzinfo, *, named: bool = True) -> str:
    """``moment`` in ``zone``, to the minute, with the zone's abbreviation; short (no
    year, no zone) for a table's column whose header names the zone."""
    if moment is None:
        return _MISSING
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M %Z") if named else local.strftime("%d %b %H:%M")


def _in(moment: datetime, now: datetime) -> str:
    """How far ``moment`` is from ``now``, as a person says it: ``in 3h 20m``, ``2d ago``."""
    seconds = int((moment - now).total_seconds())
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    span = f"{days}d {hours}h" if days else f"{hours}h {mins}m" if hours else f"{mins}m"
    return f"in {span}" if seconds >= 0 else f"{span} ago"


def _table(title: str, *columns: str, right: Iterable[str] = ()) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    return table


def lead_renderables(
    view: LeadView, zone: tzinfo, email: str | None = None, now: datetime | None = None
) -> list[RenderableType]:
    """The lead from top to bottom: who and where it stands, why its score, its sales
    hand-off and deadline, its sequence, stage changes, emails and sales log."""
    now = now or datetime.now(UTC)
    parts: list[RenderableType] = [_overview(view, zone, email)]
    if view.custom:
        parts.append(_custom(view))
    parts.append(_score(view))
    parts += [p for p in (_sales(view, zone, now), _sequences(view, zone)) if p is not None]
    parts += [_transitions(view, zone), _emails(view, zone)]
    if view.sales_log:
        parts.append(_sales_log(view, zone))
    return parts


def _overview(view: LeadView, zone: tzinfo, email: str | None) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_column(style="bold")
    grid.add_column()
    conditions = f" ({', '.join(view.conditions)})" if view.conditions else ""
    consent = view.consent
    agreed = "marketing agreed" if consent and consent.marketing else "no marketing consent"
    if consent and consent.double_opt_in:
        agreed += ", confirmed" if consent.confirmed else ", not confirmed yet"
    person = view.person
    email = email or (str(person.email) if person else None)
    rows = [
        ("Name", _name(view), "Company", (person.company if person else None) or "-"),
        ("Email" if email else "", email or "", "Stage", f"{view.stage}{conditions}"),
        ("Source", view.source or "unknown", "Score", f"{view.score} (grade {view.grade})"),
        ("Forms", _forms(view), "Temperature", str(view.temperature)),
        ("Locale", view.locale, "Buying stage", _buying(view)),
        (
            "Created",
            when(view.created_at, zone),
            "Last activity",
            when(view.last_activity_at, zone),
        ),
        ("Consent", agreed, "Next touch", when(view.next_touch_at, zone)),
    ]
    if view.revisit_after:
        rows.append(("", "", "Revisit after", when(view.revisit_after, zone)))
    for row in rows:
        grid.add_row(*row)
    return Panel(grid, title=f"Lead {view.lead_id}", title_align="left", expand=False)


def _name(view: LeadView) -> str:
    person = view.person
    parts = [p for p in (person.first_name, person.last_name) if p] if person else []
    title = f" ({person.job_title})" if person and person.job_title else ""
    return (" ".join(parts) or "-") + title


def _custom(view: LeadView) -> Table:
    table = _table("Answers", "Field", "Value")
    for name, value in view.custom.items():
        table.add_row(name, str(value))
    return table


def _buying(view: LeadView) -> str:
    return f"{view.buying_stage} ({view.buying_stage_points}/{view.buying_stage_target} points)"


def _score(view: LeadView) -> Table | Text:
    if not view.explanation:
        return Text.assemble((f"Score {view.score}", "bold"), ": no rule has fired yet")
    table = _table(
        f"Score {view.score}: why", "Rule", "Kind", "Points", "Hits", right=("Points", "Hits")
    )
    for line in view.explanation:
        table.add_row(line.label, line.kind, f"{line.points:+d}", str(line.hits))
    return table


def _sales(view: LeadView, zone: tzinfo, now: datetime) -> Panel | None:
    handoff = view.handoffs[-1] if view.handoffs else None
    if handoff is None:
        return None
    owner = handoff.owner_name or handoff.owner or "the pool (no owner yet)"
    if handoff.owner_name and handoff.owner:
        owner += f" ({handoff.owner})"
    lines = [
        f"Hand-off {handoff.number} ({handoff.trigger}) since {when(handoff.started_at, zone)}"
    ]
    lines.append(f"Owner: {owner}")
    lines.append(_deadline(handoff, zone, now))
    if handoff.reassignments:
        lines.append(f"Reassigned {handoff.reassignments} times")
    title = "Sales" if handoff.ended_at is None else "Sales (last hand-off, ended)"
    return Panel("\n".join(lines), title=title, title_align="left", expand=False)


def _deadline(handoff: HandOff, zone: tzinfo, now: datetime) -> str:
    if handoff.ended_at is not None:
        return f"Ended {when(handoff.ended_at, zone)}"
    if handoff.accepted_at is not None:
        return f"Accepted {when(handoff.accepted_at, zone)}"
    if handoff.accept_by is None:
        return "SLA: no deadline (not routed yet)"
    due = handoff.accept_by
    late = " [bold red]OVERDUE[/]" if due < now else ""
    return f"SLA: accept by {when(due, zone)} ({_in(due, now)}){late}"


def _sequences(view: LeadView, zone: tzinfo) -> Table | None:
    running = [e for e in view.enrolments if e.ended_at is None]
    if not running:
        return None
    table = _table("Sequence", "Sequence", "Since", "Step", "Next touch")
    for entry in running:
        name = f"{entry.sequence} v{entry.version} (entry {entry.number})"
        started = when(entry.started_at, zone)
        table.add_row(name, started, entry.step or _MISSING, when(entry.next_touch_at, zone))
    return table


def _none(title: str) -> Text:
    return Text.assemble((title, "bold"), ": none yet")


def _transitions(view: LeadView, zone: tzinfo) -> Table | Text:
    earlier = f" (and {view.archived.transitions} earlier)" if view.archived.transitions else ""
    if not view.transitions:
        return _none(f"Stage changes{earlier}")
    columns = ("When", "What", "Change", "Why", "Score")
    table = _table(f"Stage changes{earlier}", *columns, right=("Score",))
    for change in view.transitions:
        moved = f"{change.from_value or _MISSING} → {change.to_value}"
        score = _MISSING if change.score is None else str(change.score)
        table.add_row(
            when(change.at, zone), change.field.replace("_", " "), moved, change.reason, score
        )
    return table


def _emails(view: LeadView, zone: tzinfo) -> Table | Text:
    earlier = f" (and {view.archived.emails} earlier)" if view.archived.emails else ""
    if not (view.emails or view.planned):
        return _none(f"Emails{earlier}")
    table = _table(f"Emails{earlier}", "When", "Template", "From", "Status")
    for sent in view.emails:
        origin = f"{sent.sequence} v{sent.version}" if sent.sequence else "the lead's own"
        status = sent.status if not sent.detail else f"{sent.status}: {sent.detail}"
        table.add_row(when(sent.at, zone), sent.template, origin, status)
    for planned in view.planned:
        table.add_row(when(planned.due_at, zone), planned.template, "the lead's own", "planned")
    return table


def _sales_log(view: LeadView, zone: tzinfo) -> Table:
    earlier = f" (and {view.archived.sales_log} earlier)" if view.archived.sales_log else ""
    table = _table(f"Sales log{earlier}", "When", "What", "Who", "Detail")
    for entry in view.sales_log:
        table.add_row(when(entry.at, zone), entry.kind.replace("_", " "), entry.actor, entry.detail)
    return table


def leads_table(page: LeadPage, zone: tzinfo, width: int = 100) -> Table:
    """One row per lead, its id whole (to copy into ``nurture lead show``), times short
    in ``zone`` (named in the caption), the grade beside the score, one space between
    columns: it fits 100 columns, a long name wrapping within its column."""
    zone_name = datetime.now(UTC).astimezone(zone).strftime("%Z")
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 0),
        caption=f"Times in {zone_name}.",
        caption_justify="left",
    )
    table.add_column("Lead", no_wrap=True)
    table.add_column("Stage", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    for column in ("Temp", "Owner", "Sequence"):
        table.add_column(column, overflow="fold")
    table.add_column("Next touch", no_wrap=True)
    wide = width >= _FULL_WIDTH
    if wide:
        table.add_column("Last active", no_wrap=True)
    for row in page.leads:
        score = _MISSING if row.score is None else f"{row.score} {row.grade or '?'}"
        cells = [row.lead_id, row.stage or _MISSING, score, row.temperature or _MISSING]
        cells += [row.owner or _MISSING, row.sequence or _MISSING]
        cells.append(when(row.next_touch_at, zone, named=False))
        if wide:
            cells.append(when(row.last_activity_at, zone, named=False))
        table.add_row(*cells)
    return table


def _forms(view: LeadView) -> str:
    forms = ", ".join(view.forms) or "none"
    return f"{forms} (imported: {view.imported_from})" if view.imported_from else forms
