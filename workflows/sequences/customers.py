"""After the sale (DOMAIN.md: "nurturing does not stop at the sale"): onboarding, then
upsell or cross-sell. Their enrolment rules run them in the customer stage only."""

from __future__ import annotations

from workflows.sequences.base import Sequence, days, sequence

__all__ = ["Onboarding", "Upsell"]


@sequence("onboarding", version=1)
class Onboarding(Sequence):
    """Welcome aboard at once; first steps 2 days later; the training session at +9 days
    unless they already clicked through the first steps."""

    async def steps(self) -> None:
        await self.send("welcome_aboard")
        await self.wait(days(2))
        await self.send("getting_started")
        if not await self.wait_for("email_clicked", within=days(7)):
            await self.send("onboarding_session")


@sequence("upsell", version=1)
class Upsell(Sequence):
    """A month after onboarding, larger companies hear about the plan above theirs, others about the
    companion product; a customer story 10 days later. Ends when they ask for a quote."""

    goal = "quote_requested"

    async def steps(self) -> None:
        await self.wait(days(30))
        size = self.lead.attributes.get("company_size") or 0
        await self.send("upgrade_offer" if size >= 50 else "companion_product")
        await self.wait(days(10))
        await self.send("customer_story")
