"""One-click unsubscribe on the real stack."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nurture.testing import ScriptedSmtpServer
from tests.e2e.stack.tools import (
    lead_when,
    post_events,
    wait_until,
)

pytestmark = pytest.mark.e2e


class TestOneClickUnsubscribe:
    """Issue 5's bar: an email in the SMTP server shows both unsubscribe headers, and the
    one-click POST to its URL stops the lead's next scheduled email."""

    def test_headers_then_one_click_stops_the_scheduled_email(
        self, api: httpx.Client, smtp: ScriptedSmtpServer
    ) -> None:
        email = "una@e2e.example"
        persona = {"job_title": "Marketing director", "company_size": "80"}
        response = api.post(
            "/v1/forms/quick-guide", data={"email": email, "first_name": "Una", **persona}
        )
        assert response.status_code == 202, response.text
        lead_id = str(response.json()["lead_id"])
        # To the evaluation stage: the buying guide (marketing) at once.
        post_events(api, lead_id, [("page_viewed", {"section": "product"})] * 6, "una")

        def guide() -> Any:
            return next(
                (
                    m
                    for m in smtp.messages
                    if m["To"].addresses[0].addr_spec == email
                    and m["X-Nurture-Template"] == "buying_guide"
                ),
                None,
            )

        wait_until(lambda: guide() is not None, within=20)
        message = guide()
        https, mailto = (p.strip(" <>") for p in str(message["List-Unsubscribe"]).split(","))
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mailto.startswith("mailto:unsubscribe@") and https.startswith("http://")
        assert https in message.get_body(("plain",)).get_content()

        # What Gmail does: POST the header's URL, form-encoded, no cookie, no API key.
        path = "/" + https.split("/", 3)[3]
        posted = api.post(
            path,
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert posted.status_code == 200 and "You are unsubscribed" in posted.text

        # The welcome's second conversion fell due 20 s after the form: it is skipped.
        view = lead_when(
            api,
            lead_id,
            lambda v: any(e["template"] == "second_conversion" for e in v["emails"]),
            60,
        )
        assert "unsubscribed" in view["conditions"]
        second = next(e for e in view["emails"] if e["template"] == "second_conversion")
        assert second["status"] == "skipped"
        templates = [
            str(m["X-Nurture-Template"])
            for m in smtp.messages
            if m["To"].addresses[0].addr_spec == email
        ]
        assert templates == ["thank_you", "buying_guide"]
