"""Marketing → sales → marketing on the dev server, over HTTP."""

from __future__ import annotations

import httpx
import pytest

from nurture.devtools.stack import DevStack
from nurture.testing import ScriptedSmtpServer
from tests.e2e.stack.tools import HEADERS, assigned_sql, wait_until

pytestmark = pytest.mark.e2e


class TestSalesRoundTrip:
    """Marketing → sales → marketing on the dev server, over HTTP."""

    def test_score_up_alert_return_recycle(
        self, api: httpx.Client, smtp: ScriptedSmtpServer, stack: DevStack
    ) -> None:
        """A French lead scores past the SQL threshold (support, webinars, a demo); its rep
        gets the alert in the SMTP server; the rep returns it with reason 'timing' through the
        API; the lead then receives the recycle sequence's first email."""
        view = assigned_sql(api, "marie@e2e.example", "Marie")
        lead_id = view["lead_id"]
        assert view["stage"] == "sql"
        owner = view["handoffs"][-1]
        wait_until(lambda: bool(_alerts_to(smtp, owner["owner_email"])))
        rep = owner["owner"]
        returned = api.post(
            f"/v1/leads/{lead_id}/return-to-nurture",
            headers=HEADERS,
            json={"actor": rep, "reason": "timing", "note": "next quarter"},
        )
        assert returned.status_code == 200, returned.text
        assert returned.json()["stage"] == "recycled"
        wait_until(lambda: "keep_in_touch" in _templates_to(smtp, "marie@e2e.example"), within=30)
        again = api.post(
            f"/v1/leads/{lead_id}/return-to-nurture",
            headers=HEADERS,
            json={"actor": rep, "reason": "timing"},
        )
        assert again.status_code == 409 and "recycled" in again.json()["detail"]


def _alerts_to(smtp: ScriptedSmtpServer, address: str) -> list[object]:
    return [
        m
        for m in smtp.messages
        if str(m["X-Nurture-Template"]) == "sales_alert"
        and m["To"].addresses[0].addr_spec == address
    ]


def _templates_to(smtp: ScriptedSmtpServer, address: str) -> list[str]:
    return [
        str(m["X-Nurture-Template"])
        for m in smtp.messages
        if m["To"].addresses[0].addr_spec == address
    ]
