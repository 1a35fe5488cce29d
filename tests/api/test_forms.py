"""POST /v1/forms/{form_id}: validation, JSON and urlencoded bodies, locales, OpenAPI."""

from __future__ import annotations

from typing import ClassVar

import pytest
from fastapi.testclient import TestClient

from nurture.testing import MemoryLeadGateway
from tests.api.apitools import fields


class TestFormPost:
    """Forms accept JSON and urlencoded bodies and refuse bad fields by name."""

    def test_json_post_accepted(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """202 with the lead id derived from the email; the form's offer travels along."""
        response = client.post(
            "/v1/forms/white-paper", json={"email": " Ada@Globex.example", "first_name": "Ada"}
        )
        assert response.status_code == 202
        lead_id, submitted = gateway.forms[0]
        assert response.json()["lead_id"] == lead_id
        assert submitted.lead.email == "ada@globex.example"
        assert submitted.offer is not None and "buying guide" in submitted.offer.title
        assert submitted.event_type == "content_downloaded"

    def test_plain_html_form(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """urlencoded, blank optional fields, a checkbox and a submit button all work."""
        response = client.post(
            "/v1/forms/contact",
            data={
                "email": "bob@initech.example",
                "first_name": "Bob",
                "company": "",
                "company_size": "42",
                "consent": "on",
                "submit": "Send",
            },
        )
        assert response.status_code == 202, response.text
        lead = gateway.forms[0][1].lead
        assert (lead.first_name, lead.company, lead.company_size) == ("Bob", None, 42)
        assert lead.consent.marketing is True and lead.consent.given_at is not None

    def test_each_bad_field_named(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """422 lists every bad field with its rule, and nothing reaches Temporal."""
        response = client.post(
            "/v1/forms/contact",
            json={
                "email": "not-an-email",
                "first_name": "Ada\r\nBcc: x@y.z",
                "country": "France",
                "timezone": "Mars/Olympus",
            },
        )
        assert response.status_code == 422
        problems = fields(response)
        assert set(problems) == {"email", "first_name", "country", "timezone"}
        assert "control characters" in problems["first_name"]
        assert "time zone" in problems["timezone"]
        assert gateway.forms == []

    def test_missing_email(self, client: TestClient) -> None:
        """The only required field is named when absent."""
        response = client.post("/v1/forms/contact", data={"first_name": "Ada"})
        assert response.status_code == 422 and "email" in fields(response)

    def test_unknown_form(self, client: TestClient) -> None:
        """An unconfigured form id is a 404 naming it."""
        response = client.post("/v1/forms/nope", json={"email": "a@b.example"})
        assert response.status_code == 404 and "nope" in response.json()["detail"]

    def test_unsupported_body(self, client: TestClient) -> None:
        """A text/plain body is a 415 saying what to send."""
        response = client.post(
            "/v1/forms/contact",
            content="email=a@b.example",
            headers={"content-type": "text/plain"},
        )
        assert response.status_code == 415

    def test_submission_id_makes_retry_identical(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """A retry with the same submission id carries the same id to the workflow."""
        body = {"email": "a@b.example", "submission_id": "page-123"}
        first = client.post("/v1/forms/contact", json=body).json()
        second = client.post("/v1/forms/contact", json=body).json()
        assert first == second and first["submission_id"] == "page-123"

    @pytest.mark.parametrize(
        ("form", "body", "header", "expected"),
        [
            ("contact", {"locale": "fr"}, "en", "fr"),
            ("webinar-fr", {}, "en-US,en", "fr"),
            ("contact", {}, "de-DE, fr;q=0.8, en;q=0.5", "fr"),
            ("contact", {}, "de", "en"),
        ],
    )
    def test_locale_choice(
        self,
        client: TestClient,
        gateway: MemoryLeadGateway,
        form: str,
        body: dict[str, str],
        header: str,
        expected: str,
    ) -> None:
        """Field, then the form's locale, then Accept-Language, then the default."""
        client.post(
            f"/v1/forms/{form}",
            json={"email": "a@b.example", **body},
            headers={"Accept-Language": header},
        )
        assert gateway.forms[-1][1].locale == expected


class TestFormEncodings:
    """Urlencoded and multipart bodies are UTF-8: decoded as such, strictly, and a field
    that is not valid UTF-8 is a 422 naming it, as on the JSON path."""

    URLENCODED: ClassVar[dict[str, str]] = {"content-type": "application/x-www-form-urlencoded"}

    def test_urlencoded_utf8_arrives_as_sent(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """Percent-encoded UTF-8 (what browsers send), raw UTF-8 bytes and '+' for spaces."""
        body = (
            "email=jose%40b.example&first_name=Jos%C3%A9"
            "&last_name=M%C3%BCller+Sm%C3%ADth&company=Caf\u00e9"
        )
        response = client.post("/v1/forms/contact", content=body.encode(), headers=self.URLENCODED)
        assert response.status_code == 202, response.text
        lead = gateway.forms[0][1].lead
        assert (lead.first_name, lead.last_name, lead.company) == (
            "José",
            "Müller Smíth",
            "Café",
        )

    @pytest.mark.parametrize(
        "body",
        [b"email=a%40b.example&first_name=%FF%FE", b"email=a%40b.example&first_name=Jos\xe9"],
        ids=["percent-encoded", "raw-latin-1"],
    )
    def test_urlencoded_invalid_utf8_is_named(
        self, client: TestClient, gateway: MemoryLeadGateway, body: bytes
    ) -> None:
        response = client.post("/v1/forms/contact", content=body, headers=self.URLENCODED)
        assert response.status_code == 422
        assert list(fields(response)) == ["first_name"]
        assert "not valid UTF-8" in fields(response)["first_name"]
        assert gateway.forms == []

    def test_another_charset_is_refused(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """A declared charset other than UTF-8 is refused (415) rather than guessed at."""
        response = client.post(
            "/v1/forms/contact",
            content=b"email=a%40b.example&first_name=Jos%E9",
            headers={"content-type": "application/x-www-form-urlencoded; charset=iso-8859-1"},
        )
        assert response.status_code == 415 and "UTF-8" in response.json()["detail"]
        assert gateway.forms == []

    def test_multipart_fields_are_utf8_and_files_ignored(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        response = client.post(
            "/v1/forms/contact",
            data={"email": "jose@b.example", "first_name": "José"},
            files={"cv": ("cv.txt", b"\xff\xfe not text", "application/octet-stream")},
        )
        assert response.status_code == 202, response.text
        assert gateway.forms[0][1].lead.first_name == "José"

    def test_multipart_invalid_utf8_is_named(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        body = (
            b"--XyZ\r\n"
            b'Content-Disposition: form-data; name="email"\r\n\r\n'
            b"a@b.example\r\n"
            b"--XyZ\r\n"
            b'Content-Disposition: form-data; name="first_name"\r\n\r\n'
            b"Jos\xe9\r\n"
            b"--XyZ--\r\n"
        )
        response = client.post(
            "/v1/forms/contact",
            content=body,
            headers={"content-type": "multipart/form-data; boundary=XyZ"},
        )
        assert response.status_code == 422
        assert list(fields(response)) == ["first_name"]
        assert gateway.forms == []

    @pytest.mark.parametrize(
        ("content_type", "body"),
        [
            ("application/x-www-form-urlencoded", b"email=a%40b.example&n%FFme=x"),
            ("multipart/form-data", b"email=a@b.example"),
            ("multipart/form-data; boundary=XyZ", b"--XyZ\r\nnot a part"),
        ],
        ids=["bad-field-name", "no-boundary", "broken-multipart"],
    )
    def test_undecodable_bodies_are_422s(
        self, client: TestClient, gateway: MemoryLeadGateway, content_type: str, body: bytes
    ) -> None:
        response = client.post(
            "/v1/forms/contact", content=body, headers={"content-type": content_type}
        )
        assert response.status_code == 422 and list(fields(response)) == ["(body)"]
        assert gateway.forms == []


def test_openapi_documents_both_form_encodings(client: TestClient) -> None:
    """The docs show JSON and urlencoded bodies for form posts."""
    spec = client.get("/openapi.json").json()
    content = spec["paths"]["/v1/forms/{form_id}"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= set(content)
    assert client.get("/docs").status_code == 200
