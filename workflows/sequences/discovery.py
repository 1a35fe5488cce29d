"""Discovery: newcomers are asked about their needs, then shown the product or the community.

Version 2 added the newsletter's highlights (article 004: "welcome email to learn about needs,
newsletter, invitation to a product presentation, invitation to join social communities").
Version 3 tests the first email's subject line (an A/B split with a holdout). Older versions
stay registered while leads that started them are still running them.
"""

from __future__ import annotations

from workflows.sequences.base import Sequence, days, sequence

__all__ = ["Discovery", "DiscoveryV1", "DiscoveryV2"]


@sequence("discovery", version=3)
class Discovery(Sequence):
    """As version 2, with an experiment on the first email: its subject asks a question or
    states the benefit (``variant["needs-subject"]`` in the template), and one lead in ten
    (the holdout) skips it, to measure what the email itself adds to demo requests."""

    goal = "demo_requested"

    async def steps(self) -> None:
        if self.split("needs-subject", ["question", "benefit"], holdout=0.1) is not None:
            await self.send("about_your_needs")
        if await self.wait_for("email_clicked", within=days(3)):
            await self.send("product_presentation_invite")
        else:
            await self.send("newsletter_highlights")
            await self.wait(days(2))
            await self.send("join_the_community")


@sequence("discovery", version=2)
class DiscoveryV2(Sequence):
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
