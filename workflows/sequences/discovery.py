"""Discovery: newcomers are asked about their needs, then shown the product or the community."""

from __future__ import annotations

from workflows.sequences.base import Sequence, days, sequence

__all__ = ["Discovery"]


@sequence("discovery", version=1)
class Discovery(Sequence):
    """About their needs; the product presentation if they click within 3 days, else the
    community two days later. Ends as soon as the lead asks for a demo."""

    goal = "demo_requested"

    async def steps(self) -> None:
        await self.send("about_your_needs")
        if await self.wait_for("email_clicked", within=days(3)):
            await self.send("product_presentation_invite")
        else:
            await self.wait(days(2))
            await self.send("join_the_community")
