"""The outgoing message as the relay receives it, with a header block nurture writes itself.

Python's email package parses every header value it is given, decoding the RFC 2047
encoded words in it, and CPython before the CVE-2024-6923 fix (3.11.7 among them) can fold
the decoded CR/LF back out as raw lines: a first name such as
``=?utf-8?q?x=0D=0ABcc:_evil@x.test?=`` became a ``Bcc:`` header. So here the email
package writes only the MIME body; every top-level header line is built from values nurture
encodes itself (a display name as a quoted string or base64 encoded words, a subject as
plain ASCII or encoded words, our own values as printable ASCII), and the header block of
the finished bytes is checked against the list of headers nurture built. A line it did not
build is a :class:`MessageError`: the message is refused, never sent.
"""

from __future__ import annotations

import base64
import email.policy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import email_validator

from nurture.adapters.mail.rendering import RenderedEmail
from nurture.domain.text import strip_control_characters
from nurture.errors import NurtureError

__all__ = [
    "MessageError",
    "Outgoing",
    "address_field",
    "check_headers",
    "encoded_words",
    "header_names",
    "mailbox",
    "phrase",
    "unstructured",
    "write_message",
]

_BODY_POLICY = email.policy.SMTP.clone(max_line_length=998)
"""How the MIME body is written: CRLF lines, long lines folded only past RFC 5322's 998."""
_PRINTABLE = re.compile(r"[ -~]*")
_HEADER_NAME = re.compile(rb"[!-9;-~]+")
_WORD_BYTES = 39
"""UTF-8 bytes per encoded word: 52 base64 characters, 64 with ``=?utf-8?b??=``, so the
first word still fits a 78-character line after ``Subject: ``."""
_LINE = 78
_MAX_LINE = 998


class MessageError(NurtureError):
    """This message cannot be written or sent as it is: retrying will not help."""


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the relay: the envelope and exactly the bytes to send."""

    sender: str
    recipient: str
    data: bytes
    headers: tuple[str, ...]
    """The names of the header lines nurture built, in order."""
    utf8: bool = False
    """An address needs SMTPUTF8 (RFC 6531): its local part is not ASCII."""

    def signed(self, signature: bytes, header: str = "DKIM-Signature") -> Outgoing:
        """This message with a signature (the ``header`` line a signer made) put in front,
        and checked again: the signer may add that one line and nothing else."""
        signed = replace(self, data=signature + self.data, headers=(header, *self.headers))
        check_headers(signed.data, signed.headers)
        return signed


def _printable(text: str) -> bool:
    return _PRINTABLE.fullmatch(text) is not None


def encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 base64 encoded words, cut between characters, after a space
    where there is one (readers that wrongly keep the folding between words then show a
    space too many, not a word cut in two)."""
    words: list[str] = []
    rest = text
    while rest:
        chunk = _fitting(rest)
        space = chunk.rfind(" ")
        if 0 < space < len(chunk) - 1 and len(chunk) < len(rest):
            chunk = chunk[: space + 1]
        words.append(_word(chunk.encode("utf-8")))
        rest = rest[len(chunk) :]
    return words


def _fitting(text: str) -> str:
    """The longest start of ``text`` whose UTF-8 fits one encoded word."""
    size = 0
    for index, char in enumerate(text):
        size += len(char.encode("utf-8"))
        if size > _WORD_BYTES:
            return text[:index]
    return text


def _word(chunk: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?="


def phrase(name: str) -> str:
    """A display name nothing can be read into: printable ASCII as a quoted string, and
    anything else, or anything that looks like an encoded word (``=?``, which lenient
    parsers decode even inside quotes), as encoded words."""
    name = strip_control_characters(name)
    if _printable(name) and "=?" not in name:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "\r\n ".join(encoded_words(name))


def unstructured(text: str, used: int = 0) -> str:
    """A subject: plain printable ASCII folded at spaces, or, when it holds anything else
    or something that looks like an encoded word (``=?``), encoded words throughout.
    ``used`` is how much of the first line the header's name takes."""
    text = strip_control_characters(text)
    if _printable(text) and "=?" not in text:
        return _fold(text.split(" "), used)
    return "\r\n ".join(encoded_words(text))


def _fold(words: list[str], used: int) -> str:
    lines: list[str] = []
    line = ""
    for word in words:
        if line and used + len(line) + 1 + len(word) > _LINE:
            lines.append(line)
            line, used = word, 1
        else:
            line = f"{line} {word}" if line else word
    return "\r\n ".join([*lines, line])


def mailbox(address: str) -> tuple[str, bool]:
    """The address as written on the wire, and whether it needs SMTPUTF8: the domain in its
    ASCII (IDNA) form always; a local part that is not ASCII needs SMTPUTF8."""
    try:
        valid = email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise MessageError(f"{address!r} is not a deliverable address: {exc}") from exc
    if valid.ascii_email:
        return valid.ascii_email, False
    return f"{valid.local_part}@{valid.ascii_domain}", True


def address_field(wire: str, name: str | None = None) -> str:
    """A ``From``/``To`` value: the display name encoded by :func:`phrase`, then the address."""
    shown = strip_control_characters(name or "")
    return f"{phrase(shown)} <{wire}>" if shown else wire


def _own_value(name: str, value: str) -> str:
    """A header value nurture made itself (ids, URLs): printable ASCII, or refused."""
    if not _printable(value) or len(name) + 2 + len(value) > _MAX_LINE:
        raise MessageError(f"header {name} has a value nurture cannot write safely")
    return value


def write_message(
    rendered: RenderedEmail,
    *,
    sender: tuple[str, str | None],
    to: tuple[str, str | None],
    message_id: str,
    sent_at: datetime,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Outgoing:
    """The message as it goes to the relay (multipart/alternative, text first, then HTML):
    ``sender`` and ``to`` are (address, display name)."""
    from_wire, from_utf8 = mailbox(sender[0])
    to_wire, to_utf8 = mailbox(to[0])
    lines = [
        ("From", address_field(from_wire, sender[1])),
        ("To", address_field(to_wire, to[1])),
        ("Subject", unstructured(rendered.subject, len("Subject: "))),
        ("Date", format_datetime(sent_at)),
        ("Message-ID", _own_value("Message-ID", message_id)),
    ]
    if reply_to:
        name, reply = parseaddr(reply_to)
        lines.append(("Reply-To", address_field(mailbox(reply)[0], name)))
    lines += [(name, _own_value(name, value)) for name, value in (headers or {}).items()]
    body = EmailMessage()
    body.set_content(rendered.text)
    body.add_alternative(rendered.html, subtype="html")
    head = "".join(f"{name}: {value}\r\n" for name, value in lines).encode("utf-8")
    data = head + body.as_bytes(policy=_BODY_POLICY)
    names = (*(name for name, _ in lines), *body.keys())
    check_headers(data, names)
    return Outgoing(from_wire, to_wire, data, names, from_utf8 or to_utf8)


def header_names(data: bytes) -> list[str]:
    """The names of the header lines of ``data``, or :class:`MessageError` when its header
    block holds a line that is not a header, a bare CR or LF, or a line over 998 bytes."""
    head, blank, _ = data.partition(b"\r\n\r\n")
    if not blank:
        raise MessageError("the message has no header block")
    names: list[str] = []
    for line in head.split(b"\r\n"):
        if b"\r" in line or b"\n" in line or b"\0" in line or len(line) > _MAX_LINE:
            raise MessageError("the header block has a bare CR, LF or NUL, or an overlong line")
        if line[:1] in (b" ", b"\t") and names:
            continue  # a folded continuation of the header above
        name, colon, _ = line.partition(b":")
        if not colon or _HEADER_NAME.fullmatch(name) is None:
            raise MessageError(f"the header block has a line that is no header: {line[:40]!r}")
        names.append(name.decode("ascii"))
    return names


def check_headers(data: bytes, built: Sequence[str]) -> None:
    """Refuse ``data`` unless its header lines are exactly the ones nurture ``built``."""
    found = header_names(data)
    if [n.lower() for n in found] != [n.lower() for n in built]:
        extra = [n for n in found if n.lower() not in {b.lower() for b in built}]
        raise MessageError(
            "the message has header lines nurture did not build "
            f"({', '.join(extra) or 'out of order or repeated'}): refused, nothing sent"
        )
