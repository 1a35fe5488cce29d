"""``nurture enrolment check``: the running leads listed from visibility, their facts read
once from the facts store, each judged by the enrolment rules in force and by a changed set
(``nurture.domain.reports.enrolment_check``).

The changed set is a copy of ``nurture.toml`` with other ``[[enrolment]]`` rules, checked
as ``nurture config check`` checks the real one before anything is read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from nurture.adapters.factlog.base import FactStore
from nurture.adapters.temporal.visibility import running_leads
from nurture.config.check import (
    ConfigReport,
    Configuration,
    enrolment_buying_stages_exist,
    enrolment_custom_fields_exist,
    enrolment_forms_exist,
    enrolment_sequences_exist,
    read_configuration,
)
from nurture.config.project import ProjectConfig
from nurture.config.settings import Settings
from nurture.config.tomlfile import read_toml_model
from nurture.domain.fields import CustomField
from nurture.domain.reports.enrolment_check import EnrolmentCheckReport, EnrolmentCheckTally
from nurture.domain.sequences.dryrun import KINDS
from nurture.domain.sequences.rules import EnrolmentRule
from nurture.services.reports import by_lead_stream

__all__ = ["CANDIDATE_FILE", "RuleSets", "check_candidate", "run_enrolment_check"]

CANDIDATE_FILE = Path("config/nurture.candidate.toml")
"""Where the check looks for the changed rules when none is named, under the project folder."""

_CHECKS = (
    enrolment_sequences_exist,
    enrolment_forms_exist,
    enrolment_buying_stages_exist,
    enrolment_custom_fields_exist,
)


class RuleSets:
    """The rules in force and the changed ones, read and checked, with the project's
    custom fields (what the leads' values are typed by)."""

    def __init__(
        self,
        current: tuple[EnrolmentRule, ...],
        candidate: tuple[EnrolmentRule, ...],
        fields: dict[str, CustomField],
        report: ConfigReport,
        double_opt_in: tuple[str, ...] = (),
    ) -> None:
        self.current = current
        self.candidate = candidate
        self.fields = fields
        self.report = report
        self.double_opt_in = double_opt_in
        """The project's double opt-in forms: their posts count once confirmed."""


def check_candidate(settings: Settings, candidate: Path | None) -> RuleSets:
    """Both sets of rules: ``candidate``'s (``None``: the rules in force, against
    themselves). ``report.errors`` lists what makes either file unusable, at its line."""
    now = read_configuration(settings)
    problems = list(now.project.problems)
    changed = now
    if candidate is not None:
        read = read_toml_model(candidate, ProjectConfig, "project configuration")
        changed = Configuration(read, now.scoring, now.sales, now.templates_dir)
        problems += [*read.problems, *(p for check in _CHECKS for p in check(changed))]
    report = ConfigReport(
        files=(now.project.path, changed.project.path),
        errors=tuple(p for p in problems if p.severity == "error"),
        warnings=tuple(p for p in problems if p.severity == "warning"),
    )
    current, other = now.project.model, changed.project.model
    return RuleSets(
        current=tuple(current.enrolment) if current else (),
        candidate=tuple(other.enrolment) if other else (),
        fields=dict(current.fields) if current else {},
        report=report,
        double_opt_in=tuple(n for n, f in current.forms.items() if f.double_opt_in)
        if current
        else (),
    )


async def run_enrolment_check(
    client: Client,
    store: FactStore,
    rules: RuleSets,
    at: datetime | None = None,
    names: tuple[str, str] = ("current", "candidate"),
    listed: Callable[[int], None] | None = None,
) -> EnrolmentCheckReport:
    """Every running lead judged at ``at`` (default now) by both sets; ``listed`` is told
    of each lead visibility lists."""
    running = await running_leads(client, advance=listed)
    moment = at or datetime.now(UTC)
    tally = EnrolmentCheckTally(
        rules.current, rules.candidate, running, rules.fields, moment, names, rules.double_opt_in
    )
    async for lead in by_lead_stream(store.read(kinds=KINDS)):
        tally.add_lead(lead)
    return tally.result()
