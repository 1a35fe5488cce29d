"""Discovery: newcomers are asked about their needs, then shown the product or the community.

Version 2 adds the newsletter's highlights (article 004: "welcome email to learn about needs,
newsletter, invitation to a product presentation, invitation to join social communities").
Version 1 stays registered while leads that started it are still running it.
"""

from __future__ import annotations

from workflows.sequences.base import Sequence, days, sequence

__all__ = ["Discovery", "DiscoveryV1"]


@sequence("discovery", version=2)
class Discovery(Sequence):
    """About their needs; the product presentation if they click within 3 days, else the
    newsletter's highlights then, and the community two days later. Ends on a demo request."""

    goal = "demo_requested"

    async def steps(self) -> None:
        await self.send("about_your_needs")
        if await self.wait_for("email_clicked", within=days(3)):
            await self.send("product_presentation_invite")
        else:
            await self.send("newsletter_highlights")
            await self.wait(days(2))
            await self.send("join_the_community")


@sequence("discovery", version=1)
class DiscoveryV1(Sequence):
    """As version 2 without the newsletter's highlights."""

    goal = "demo_requested"

    async def steps(self) -> None:
        await self.send("about_your_needs")
        if await self.wait_for("email_clicked", within=days(3)):
            await self.send("product_presentation_invite")
        else:
            await self.wait(days(2))
            await self.send("join_the_community")
