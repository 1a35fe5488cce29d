"""What admins read of a lead in the Temporal UI: its summary, its details' markdown and its
search attributes name the lead and its owner, never an email address, and the markdown's
tables stay tables (a typed ``|`` cannot break one) whose columns never run together."""

from __future__ import annotations

import inspect
import re
from collections import Counter
from datetime import timedelta
from typing import Any

from markdown_it import MarkdownIt
from temporalio import workflow
from temporalio.common import SearchAttributeIndexedValueType

from nurture.domain.lead import journey
from nurture.domain.lead.naming import COLUMN_GAP, lead_label, start_summary
from nurture.domain.lead.state import LeadState, start_state
from nurture.domain.lead.view import LeadView, lead_view, summary_line, summary_markdown
from nurture.domain.models import ContactDetails
from nurture.domain.sales import handoff
from nurture.domain.sales.records import Assignment, SalesAction
from tests.helpers import T0, persona_lead, scoring_model, submission
from workflows import search_attributes

MODEL = scoring_model()
ANA = Assignment(rep_id="ana", rep_name="Ana | Lima", rep_email="ana@example.com", reason="x")
_EMAIL = re.compile(r"[^\s@|]+@[^\s@|]+")


def _sql(assignment: Assignment = ANA) -> LeadState:
    """Ada of Globex, made an SQL by a demo request and routed by ``assignment``."""
    state = journey.apply_submission(start_state("L1", MODEL), submission(), MODEL, T0)
    state = handoff.hand_raise(state, "demo_requested", T0)
    state = handoff.begin_handoff(state, handoff.needs_handoff(state) or "", T0)
    state = handoff.record_assignment(state, assignment, T0)
    return handoff.sla_deadline(state, T0 + timedelta(minutes=30), T0 + timedelta(hours=1))


def _act(state: LeadState, action: str, **fields: object) -> LeadState:
    sales = SalesAction.model_validate({"action": action, "actor": "ana", **fields})
    return handoff.apply_action(state, sales, MODEL, T0 + timedelta(minutes=5), -10)


def _view(state: LeadState) -> LeadView:
    return lead_view(state, MODEL, T0 + timedelta(minutes=10))


def _tables(markdown: str) -> list[list[str]]:
    """Each table's lines, in order (a table: consecutive lines starting with ``|``)."""
    tables: list[list[str]] = []
    previous = ""
    for line in markdown.split("\n"):
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(line)
        previous = line
    return tables


def _cells(line: str) -> list[str]:
    """A table line's cells, split on the pipes that are not escaped."""
    return [c.strip(" ") for c in re.split(r"(?<!\\)\|", line)[1:-1]]


class TestLabel:
    """A lead is named by first name, last initial and company, never by its address."""

    def test_first_name_initial_and_company(self) -> None:
        assert lead_label(persona_lead()) == "Ada L. · Globex"

    def test_whatever_is_known(self) -> None:
        assert lead_label(ContactDetails(email="x@y.example", company="Initech")) == (
            "unnamed lead · Initech"
        )
        assert lead_label(ContactDetails(email="x@y.example", first_name="Bo")) == "Bo"
        assert lead_label(None) == "unnamed lead"

    def test_start_summary_names_the_lead_and_form(self) -> None:
        """The summary the API starts a lead's workflow with: no address, not even its
        local part."""
        summary = start_summary(submission(persona_lead("ada.lovelace@globex.example")))
        assert summary == "Ada L. · Globex · white-paper form"
        assert "@" not in summary and "lovelace" not in summary.lower()


class TestSummaryLine:
    """The one line heading the details: who, stage, score and grade."""

    def test_reads_like_a_list_entry(self) -> None:
        view = _view(_sql())
        assert summary_line(view) == f"Ada L. · Globex · sql · {view.score} · grade {view.grade}"

    def test_no_parenthesised_grade(self) -> None:
        """The UI's markdown renderer prints "(C)" as a copyright sign."""
        assert "(" not in summary_line(_view(_sql()))


class TestMarkdown:
    """The details are well-formed GFM: tables with a separator row, blank lines around
    them, one cell per column in every row, a gap opening every column after the first."""

    def _markdown(self) -> str:
        state = _act(_sql(), "accept", note="call | back *soon*")
        return summary_markdown(_view(state))

    def test_no_email_address(self) -> None:
        """Neither the lead's address nor the owner's or manager's appears."""
        markdown = summary_markdown(_view(_sql()))
        assert _EMAIL.search(markdown) is None, markdown
        assert markdown.startswith("### Ada L. · Globex · sql · ")

    def test_tables_are_well_formed(self) -> None:
        markdown = self._markdown()
        tables = _tables(markdown)
        assert len(tables) == 2  # the score's lines, the sales log
        lines = markdown.split("\n")
        for table in tables:
            header, rule, *rows = table
            width = len(_cells(header))
            assert re.fullmatch(r"\|( (:--|--:) \|)+", rule), rule
            assert len(_cells(rule)) == width and rows
            assert all(len(_cells(row)) == width for row in rows), table
            assert all(
                cell.startswith(COLUMN_GAP)
                for row in table
                if row != rule
                for cell in _cells(row)[1:]
            )
            start = lines.index(header)
            assert lines[start - 1] == "" and lines[
                start + len(table) : start + len(table) + 1
            ] in (
                [""],
                [],
            )

    def test_moments_do_not_wrap(self) -> None:
        """The sales log's moments keep their no-break hyphens and space."""
        (_, _, *rows) = _tables(self._markdown())[1]
        assert all(
            re.fullmatch(r"\d{4}\u2011\d\d\u2011\d\d\u00a0\d\d:\d\d", _cells(r)[0]) for r in rows
        )

    def test_points_and_hits_are_cells_of_their_own(self) -> None:
        """Rendered as GFM, the score's table has separate points and hits cells, and a
        typed ``|`` stays text inside its cell."""
        html = MarkdownIt("commonmark").enable("table").render(self._markdown())
        assert re.search(r"<th[^>]*>\s*rule</th>\s*<th[^>]*>\s*points</th>\s*<th", html)
        assert html.count("<table>") == 2
        assert "call | back" in html and "<em>" not in html


class TestOwnerAttributes:
    """NurtureOwner names the rep owning the open hand-off; NurtureAcceptBy its deadline
    until it is accepted; both unset in the pool, after the hand-off, before one."""

    def test_assigned_and_waiting(self) -> None:
        view = _view(_sql())
        values = search_attributes.for_view(view)
        assert (view.owner, view.accept_by) == ("ana", T0 + timedelta(hours=1))
        assert values["NurtureOwner"] == "ana"
        assert values["NurtureAcceptBy"] == T0 + timedelta(hours=1)

    def test_accepted_keeps_the_owner(self) -> None:
        values = search_attributes.for_view(_view(_act(_sql(), "accept")))
        assert (values["NurtureOwner"], values["NurtureAcceptBy"]) == ("ana", None)

    def test_returned_unsets_both(self) -> None:
        state = _act(_act(_sql(), "accept"), "return_to_nurture", reason="timing")
        values = search_attributes.for_view(_view(state))
        assert (values["NurtureOwner"], values["NurtureAcceptBy"]) == (None, None)

    def test_pool_has_a_deadline_and_no_owner(self) -> None:
        values = search_attributes.for_view(_view(_sql(Assignment(rep_id=None, reason="pool"))))
        assert values["NurtureOwner"] is None
        assert values["NurtureAcceptBy"] == T0 + timedelta(hours=1)

    def test_no_handoff_no_owner(self) -> None:
        state = journey.apply_submission(start_state("L2", MODEL), submission(), MODEL, T0)
        values = search_attributes.for_view(_view(state))
        assert (values["NurtureOwner"], values["NurtureAcceptBy"]) == (None, None)

    def test_unset_when_the_handoff_ends(self) -> None:
        """The upserts from an open hand-off to a returned lead unset both."""
        before = search_attributes.for_view(_view(_sql()))
        after = search_attributes.for_view(
            _view(_act(_sql(), "return_to_nurture", reason="timing"))
        )
        unset = {
            u.key.name for u in search_attributes.updates_between(before, after) if u.value is None
        }
        assert {"NurtureOwner", "NurtureAcceptBy"} <= unset

    def test_no_email_in_any_value(self) -> None:
        for state in (_sql(), _act(_sql(), "accept")):
            values = search_attributes.for_view(_view(state))
            assert not any(_EMAIL.search(str(v)) for v in values.values() if v), values


class TestBudget:
    """Nurture's search attributes fit SQL visibility: 10 Keyword, 3 Int, 3 Datetime."""

    def test_within_the_sql_visibility_budget(self) -> None:
        kinds: Counter[Any] = Counter(k.indexed_value_type for k in search_attributes.ALL)
        assert kinds[SearchAttributeIndexedValueType.KEYWORD] <= 10
        assert kinds[SearchAttributeIndexedValueType.INT] <= 3
        assert kinds[SearchAttributeIndexedValueType.DATETIME] <= 3
        assert {"NurtureOwner", "NurtureAcceptBy"} <= {k.name for k in search_attributes.ALL}


class TestStaticSummaryAcrossContinueAsNew:
    """This SDK cannot hand a static summary to the next run (and the server does not carry
    it): after a continue-as-new the lead's current details, refreshed by every run, are
    what names it. When this fails, pass the summary in ``LeadWorkflow``'s
    continue-as-new and drop this test."""

    def test_continue_as_new_takes_no_summary(self) -> None:
        assert "static_summary" not in inspect.signature(workflow.continue_as_new).parameters
