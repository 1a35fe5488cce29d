"""Welcome: what follows each form a lead submits for the first time.

The lead itself sends the form's thank-you at once (transactional: no window, no cap, and
no workflow between the form and its answer). It starts this sequence once the form's
``second_conversion_delay`` has passed, beside whichever track the lead is on; the form is
``self.form``. Add steps here to follow up every new form.
"""

from __future__ import annotations

from workflows.sequences.base import Sequence, sequence

__all__ = ["Welcome"]


@sequence("welcome", version=1)
class Welcome(Sequence):
    """The form's related content (the second conversion), in the send window and cap."""

    async def steps(self) -> None:
        if self.form is not None and self.form.related:
            await self.send("second_conversion")
