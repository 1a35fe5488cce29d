"""The header block nurture writes itself: encodings that keep every value in its header,
and the check that refuses any line nurture did not build."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest

from nurture.adapters.mail.message import (
    MessageError,
    check_headers,
    encoded_words,
    header_names,
    mailbox,
    phrase,
    unstructured,
    write_message,
)
from nurture.adapters.mail.rendering import RenderedEmail


def decoded(value: str) -> str:
    return str(make_header(decode_header(value.replace("\r\n", ""))))


class TestPhrase:
    """Display names are quoted or encoded, never left to a parser's reading."""

    def test_plain_name_is_quoted_with_escapes(self) -> None:
        assert phrase('Lovelace, "Ada" \\') == '"Lovelace, \\"Ada\\" \\\\"'

    def test_encoded_word_lookalike_is_encoded_not_quoted(self) -> None:
        """Lenient parsers decode encoded words even inside quotes."""
        value = phrase("=?utf-8?q?x=0D=0ABcc:_e@x?=")
        assert value.startswith("=?utf-8?b?") and "=0D" not in value
        assert decoded(value) == "=?utf-8?q?x=0D=0ABcc:_e@x?="

    def test_control_characters_are_gone(self) -> None:
        assert "\n" not in phrase("Ada\r\nBcc: e@x") and "\r" not in phrase("Ada\rX")


class TestUnstructured:
    """Subjects: plain ASCII folded at spaces, anything else in encoded words."""

    def test_long_ascii_subject_folds_at_spaces(self) -> None:
        text = " ".join(["word"] * 40)
        value = unstructured(text, len("Subject: "))
        lines = value.split("\r\n")
        assert len(lines) > 1 and all(len(line) <= 78 for line in lines)
        assert value.replace("\r\n", "") == text

    def test_non_ascii_is_cut_between_characters(self) -> None:
        text = "é" * 100 + "日本"
        words = encoded_words(text)
        assert all(len(w) <= 75 for w in words)
        assert decoded(unstructured(text)) == text


class TestMailbox:
    """Addresses on the wire: IDNA domains, SMTPUTF8 only for a non-ASCII local part."""

    def test_international_domain_needs_no_smtputf8(self) -> None:
        assert mailbox("ada@exämple.com") == ("ada@xn--exmple-cua.com", False)

    def test_non_ascii_local_part_needs_smtputf8(self) -> None:
        assert mailbox("josé@example.com") == ("josé@example.com", True)

    def test_not_an_address(self) -> None:
        with pytest.raises(MessageError):
            mailbox("not an address")


class TestHeaderCheck:
    """The finished bytes must hold exactly the header lines nurture built."""

    def test_a_written_message_passes(self) -> None:
        message = write_message(
            RenderedEmail(subject="Hi", text="t", html="<p>h</p>"),
            sender=("a@example.com", "Acme"),
            to=("b@example.com", "Ada"),
            message_id="<1@example.com>",
            sent_at=datetime(2026, 3, 2, tzinfo=UTC),
        )
        assert header_names(message.data) == list(message.headers)

    @pytest.mark.parametrize(
        "head",
        [
            b"From: a\r\nBcc: e@x\r\n\r\nbody",
            b"From: a\r\nX: 1\nBcc: e@x\r\n\r\nbody",
            b"From: a\r\nnot a header line\r\n\r\nbody",
            b"From: a\r\n",
        ],
    )
    def test_anything_else_is_refused(self, head: bytes) -> None:
        with pytest.raises(MessageError):
            check_headers(head, ["From"])

    def test_a_folded_line_is_part_of_its_header(self) -> None:
        check_headers(b"From: a\r\n b\r\nTo: c\r\n\r\nbody", ["From", "To"])
