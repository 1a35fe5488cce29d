"""Double opt-in and tracking links on the real stack."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from nurture.testing import ScriptedSmtpServer
from tests.e2e.stack.tools import (
    lead_when,
    wait_until,
)

pytestmark = pytest.mark.e2e


class TestDoubleOptInAndTracking:
    """The newsletter form is double opt-in: only the confirmation goes out until its link
    is used (GET shows a page, POST confirms); then the lead's marketing mail is tracked,
    and a click goes to the signed target and counts."""

    def test_confirm_then_click(self, api: httpx.Client, smtp: ScriptedSmtpServer) -> None:
        email = "otto@e2e.example"
        persona = {"first_name": "Otto", "job_title": "Marketing director", "company_size": "80"}
        response = api.post(
            "/v1/forms/newsletter",
            data={"email": email, **persona},
            headers={"User-Agent": "E2E-Browser/1.0"},
        )
        assert response.status_code == 202, response.text
        lead_id = str(response.json()["lead_id"])

        def sent(template: str) -> list[Any]:
            return [
                m
                for m in smtp.messages
                if m["To"].addresses[0].addr_spec == email and m["X-Nurture-Template"] == template
            ]

        wait_until(lambda: bool(sent("confirm_subscription")), within=20)
        text = sent("confirm_subscription")[0].get_body(("plain",)).get_content()
        match = re.search(r"http://\S+/c/[A-Za-z0-9_.-]+", text)
        assert match, text
        path = "/" + match.group(0).split("/", 3)[3]
        page = api.get(path)
        assert page.status_code == 200 and '<form method="post">' in page.text
        view = lead_when(api, lead_id, lambda v: v["awaiting_confirmation"] == ["newsletter"])
        assert view["conditions"] == ["unconfirmed"] and view["forms"] == []

        confirmed = api.post(path, headers={"User-Agent": "E2E-Browser/1.0"})
        assert confirmed.status_code == 200 and "you are subscribed" in confirmed.text
        view = lead_when(api, lead_id, lambda v: bool(sent("thank_you")) and not v["conditions"])
        consent = view["consent"]
        assert consent["double_opt_in"] and consent["confirmed_at"]
        assert consent["user_agent"] == consent["confirmed_user_agent"] == "E2E-Browser/1.0"
        assert consent["form_id"] == "newsletter" and consent["ip"] == "127.0.0.1"

        # The discovery sequence (newsletter subscribers) mails at once: tracked.
        wait_until(lambda: bool(sent("about_your_needs")), within=30)
        html = sent("about_your_needs")[0].get_body(("html",)).get_content()
        redirect = re.search(r'href="(http://[^"]+/r/[^"]+)"', html)
        pixel = re.search(r'src="(http://[^"]+/o/[^"]+)"', html)
        assert redirect and pixel, html
        time.sleep(1.5)  # past the scanner window
        browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Firefox/140.0"}
        clicked = api.get(
            "/" + redirect.group(1).split("/", 3)[3], headers=browser, follow_redirects=False
        )
        assert clicked.status_code == 302
        assert clicked.headers["location"].startswith("https://www.example.com/")
        gif = api.get("/" + pixel.group(1).split("/", 3)[3], headers=browser)
        assert gif.headers["content-type"] == "image/gif"
        lead_when(
            api,
            lead_id,
            lambda v: {"email_click", "email_open"} <= {x["rule"] for x in v["explanation"]},
        )
