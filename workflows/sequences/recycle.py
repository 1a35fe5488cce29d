"""Recycle: leads sales handed back to marketing, by the reason sales gave.

The enrolment rules pick the sequence from the reason (``recycle_reasons``): "not now"
(timing, no response) keeps in touch lightly; "not a fit yet" (budget, authority, need,
other) sends material that helps build the case, then checks back later.
"""

from __future__ import annotations

from workflows.sequences.base import Sequence, days, sequence

__all__ = ["RecycleFit", "RecycleTiming"]


@sequence("recycle-timing", version=1)
class RecycleTiming(Sequence):
    """Not now: a light keep-in-touch at once, then a check-back a month later."""

    async def steps(self) -> None:
        await self.send("keep_in_touch")
        await self.wait(days(30))
        await self.send("checking_back")


@sequence("recycle-fit", version=1)
class RecycleFit(Sequence):
    """Not a fit yet: material to build the case at once, then a check-back at +45 days."""

    async def steps(self) -> None:
        await self.send("resources_for_later")
        await self.wait(days(45))
        await self.send("checking_back")
