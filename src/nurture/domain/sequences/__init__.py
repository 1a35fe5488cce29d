"""Nurture sequences: which a lead enters (enrolment) and what a running sequence works with."""

__all__: list[str] = []
