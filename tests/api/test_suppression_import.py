"""POST /v1/suppressions/import: a CSV suppression list streamed in, for admin keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nurture.adapters.links.tokens import email_hash
from nurture.api.security import new_api_key, parse_api_keys
from nurture.config.settings import Settings
from nurture.testing import MemoryLedger
from tests.api.apitools import AUTH

URL = "/v1/suppressions/import"
FILE = (
    b"\xef\xbb\xbfEmail;Status\r\n"
    b"ada@globex.example;Unsubscribed\r\n"
    b"bob@x.example;hard bounce\r\n"
    b"nope;unsubscribed\r\n"
    b"carol@x.example;who knows\r\n"
)


def post(client: TestClient, body: Any, **params: Any) -> Any:
    return client.post(
        URL, content=body, params=params, headers={**AUTH, "Content-Type": "text/csv"}
    )


def suppressed(ledger: MemoryLedger) -> dict[str, str]:
    return {h: s.reason for h, s in ledger.suppressions.items()}


def hashed(email: str) -> str:
    return email_hash(email, Settings().secret())


class TestImport:
    """Good rows go on the list as keyed hashes; bad rows are reported and skipped."""

    def test_rows_imported_and_bad_rows_reported(self, client, ledger) -> None:
        answer = post(client, FILE).json()
        assert (answer["rows"], answer["imported"], answer["already"], answer["bad"]) == (
            4,
            2,
            0,
            2,
        )
        assert [(p["row"], p["column"]) for p in answer["problems"]] == [
            (4, "Email"),
            (5, "Status"),
        ]
        assert suppressed(ledger) == {
            hashed("ada@globex.example"): "unsubscribed",
            hashed("bob@x.example"): "hard_bounce",
        }
        assert not any(b"globex" in h.encode() for h in ledger.suppressions)  # hashes only

    def test_importing_twice_changes_nothing(self, client, ledger) -> None:
        post(client, FILE)
        before = dict(ledger.suppressions)
        answer = post(client, FILE).json()
        assert (answer["imported"], answer["already"], answer["bad"]) == (0, 2, 2)
        assert ledger.suppressions == before

    def test_a_wider_reason_widens_a_narrower_one(self, client, ledger) -> None:
        post(client, b"email,reason\nada@globex.example,unsubscribed\n")
        answer = post(client, b"email,reason\nada@globex.example,bounced\n").json()
        assert answer["imported"] == 1
        assert suppressed(ledger) == {hashed("ada@globex.example"): "hard_bounce"}
        answer = post(client, b"email,reason\nada@globex.example,unsubscribed\n").json()
        assert (answer["imported"], answer["already"]) == (0, 1)

    def test_a_duplicate_in_the_file_counts_as_already_there(self, client, ledger) -> None:
        answer = post(client, b"email,reason\na@x.example,spam\nA@X.example,spam\n").json()
        assert (answer["imported"], answer["already"]) == (1, 1)

    def test_map_and_default_reason(self, client, ledger) -> None:
        answer = post(
            client, b"Contact\nada@globex.example\n", map="email=contact", reason="complaint"
        ).json()
        assert answer["imported"] == 1
        assert suppressed(ledger) == {hashed("ada@globex.example"): "complaint"}


class TestDryRun:
    """A dry run reports exactly what a real run would, and writes nothing."""

    def test_nothing_written(self, client, ledger) -> None:
        post(client, b"email,reason\nada@globex.example,unsubscribed\n")
        before = dict(ledger.suppressions)
        answer = post(client, FILE, dry_run=True).json()
        assert answer["dry_run"] is True
        assert (answer["imported"], answer["already"], answer["bad"]) == (1, 1, 2)
        assert ledger.suppressions == before


class TestLargeFiles:
    """A file far over the request body limit is read while it arrives."""

    def test_streamed_past_the_body_limit(self, client, ledger) -> None:
        rows = 20_000  # about 500 KB, the limit is 64 KiB

        def body() -> Iterator[bytes]:
            yield b"email,reason\n"
            for start in range(0, rows, 1000):
                yield b"".join(
                    b"person%d@x.example,unsubscribed\n" % n for n in range(start, start + 1000)
                )

        answer = post(client, body()).json()
        assert (answer["rows"], answer["imported"]) == (rows, rows)

    def test_problems_listed_up_to_a_bound(self, client) -> None:
        answer = post(client, b"email,reason\n" + b"nope,spam\n" * 1500).json()
        assert answer["bad"] == 1500 and len(answer["problems"]) == 1000

    def test_other_routes_keep_the_limit(self, client) -> None:
        response = client.post("/v1/events", content=b"x" * 70_000, headers=AUTH)
        assert response.status_code == 413


class TestRefusals:
    """An unusable file or request is refused whole, naming the problem; keys need admin."""

    @pytest.mark.parametrize(
        ("body", "params", "says"),
        [
            (b"", {}, "empty"),
            (b"name\nAda\n", {}, "no address column"),
            (b"email,reason\n", {"map": "phone=x"}, "email=HEADER"),
            (b"email\nada@globex.example\n", {"reason": "erased"}, "unsubscribed"),
        ],
    )
    def test_nothing_imported(self, client, ledger, body, params, says) -> None:
        response = post(client, body, **params)
        assert response.status_code == 422 and says in response.text
        assert ledger.suppressions == {}

    def test_a_key_without_admin_scope_is_refused(self, client, ledger) -> None:
        key, entry = new_api_key(["sales", "events"])
        context = client.app.state.context
        client.app.state.context = replace(
            context, api_keys=[*context.api_keys, *parse_api_keys(entry)]
        )
        response = client.post(
            URL, content=FILE, headers={"X-API-Key": key, "Content-Type": "text/csv"}
        )
        assert response.status_code == 403 and "admin" in response.text
        assert ledger.suppressions == {}
