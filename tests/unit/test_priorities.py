"""The task-queue priorities: one for every kind of email, in the documented order."""

from __future__ import annotations

from nurture.domain.emails import EmailKind
from workflows import priorities


class TestPriorityOrder:
    """Someone waiting goes first: transactional mail, leads, sequences, then marketing."""

    def test_every_kind_of_email_has_a_priority(self) -> None:
        """No send falls back to Temporal's default by omission."""
        assert set(priorities.MAIL) == set(EmailKind)

    def test_order(self) -> None:
        """Lower goes first: 1 transactional, 2 leads, 4 sequences, 5 marketing; 3 (the
        default) sits between leads and sequences."""
        keys = [
            priorities.MAIL[EmailKind.TRANSACTIONAL].priority_key,
            priorities.LEAD.priority_key,
            3,
            priorities.SEQUENCE.priority_key,
            priorities.MAIL[EmailKind.MARKETING].priority_key,
        ]
        assert keys == [1, 2, 3, 4, 5]
