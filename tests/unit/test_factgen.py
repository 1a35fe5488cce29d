"""The benchmark's generated facts log: real facts, a plausible funnel, reproducible."""

from __future__ import annotations

from collections import Counter

from bench.factgen import DEFAULT_START, generate, lead_facts, months_after
from nurture.domain.factlog import fact_id

LEADS = 400


def reached(stage: str) -> int:
    return sum(
        any(f.kind == "stage_changed" and f.get("to_stage") == stage for f in facts)
        for facts in generate(LEADS)
    )


class TestFactGen:
    """Each lead's story is made of valid facts, in order, the same every time."""

    def test_reproducible_prefix(self) -> None:
        """Lead i's story depends on the seed and i only: a smaller log begins a larger one."""
        small, large = list(generate(20)), list(generate(40))
        assert large[:20] == small

    def test_ordered_and_created_first(self) -> None:
        """A lead's facts are in time order and begin with lead_created (bar erasures)."""
        for facts in generate(LEADS):
            assert [f.at for f in facts] == sorted(f.at for f in facts)
            assert facts[0].kind in ("lead_created", "erased")

    def test_ids_unique(self) -> None:
        """No two facts share an id: appending the log stores every fact."""
        ids = [f.id for facts in generate(LEADS) for f in facts]
        assert len(ids) == len(set(ids))
        first = next(generate(1))[0]
        assert first.id == fact_id(first.lead_id, "lead_created")

    def test_within_the_year(self) -> None:
        """Nothing happens before the start or after the twelve months."""
        end = months_after(DEFAULT_START, 12)
        moments = [f.at for facts in generate(LEADS) for f in facts]
        assert min(moments) >= DEFAULT_START and max(moments) < end

    def test_a_funnel_that_narrows(self) -> None:
        """More MQLs than SQLs than customers, each a plausible share of the leads."""
        mql, sql, customer = reached("mql"), reached("sql"), reached("customer")
        assert LEADS * 0.15 < mql < LEADS * 0.45
        assert mql * 0.2 < sql < mql * 0.6
        assert 0 < customer < sql

    def test_every_kind_a_report_reads(self) -> None:
        """The log has the facts every report needs, about twenty a lead."""
        kinds = Counter(f.kind for facts in generate(LEADS) for f in facts)
        needed = {"lead_created", "stage_changed", "sales_action", "handed_off", "assigned"}
        needed |= {"sla_escalated", "email_sent", "email_opened", "email_clicked"}
        needed |= {"sequence_entered", "sequence_ended", "variant_assigned", "unsubscribed"}
        assert needed <= set(kinds)
        assert 15 * LEADS < sum(kinds.values()) < 30 * LEADS

    def test_machine_opens_flagged(self) -> None:
        """Some opens are machine-made and say so."""
        opens = [f for facts in generate(LEADS) for f in facts if f.kind == "email_opened"]
        machine = [f for f in opens if f.get("machine")]
        assert 0 < len(machine) < len(opens)

    def test_one_lead(self) -> None:
        """A lead's story can be told alone."""
        end = months_after(DEFAULT_START, 12)
        assert lead_facts(3, start=DEFAULT_START, end=end) == list(generate(4))[3]
