"""Evaluation: leads comparing solutions get proof, then a case study, then an offer to talk."""

from __future__ import annotations

from workflows.sequences.base import Sequence, days, sequence

__all__ = ["Evaluation"]


@sequence("evaluation", version=1)
class Evaluation(Sequence):
    """Buying guide; a case study if they click within 4 days, else the webinar; then an
    expert. Ends as soon as the lead requests a demo."""

    goal = "demo_requested"

    async def steps(self) -> None:
        await self.send("buying_guide")
        if await self.wait_for("email_clicked", within=days(4)):
            await self.send("case_study")
        else:
            await self.send("webinar_invite")
        await self.wait(days(3))
        await self.send("talk_to_an_expert")
