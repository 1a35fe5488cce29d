"""Decision: leads finalising a purchase are offered a demo, then a quote."""

from __future__ import annotations

from workflows.sequences.base import Sequence, days, sequence

__all__ = ["Decision"]


@sequence("decision", version=1)
class Decision(Sequence):
    """The demo invitation; the quote offer as soon as they click it, or after 3 days; a
    last call to talk 4 days later. Ends on a demo or quote request (sales takes over)."""

    goal = ("demo_requested", "quote_requested")

    async def steps(self) -> None:
        await self.send("book_a_demo")
        await self.wait_for("email_clicked", within=days(3))
        await self.send("request_a_quote")
        await self.wait(days(4))
        await self.send("talk_to_an_expert")
