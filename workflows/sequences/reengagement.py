"""Re-engagement: leads with no activity for 30 days (the enrolment rule's ``inactive_for``)."""

from __future__ import annotations

from workflows.sequences.base import Sequence, any_event_except, days, sequence

__all__ = ["ReEngagement"]


@sequence("reengagement", version=1)
class ReEngagement(Sequence):
    """What's new since their last visit; a week later, whether to stay in touch. Any sign
    of life (an open alone is not one: mail clients open everything) ends it."""

    goal = (any_event_except("email_opened"),)

    async def steps(self) -> None:
        await self.send("whats_new")
        await self.wait(days(7))
        await self.send("still_interested")
        await self.wait(days(7))
        self.exit("no response in 14 days")
