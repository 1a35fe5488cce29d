"""Form bodies (urlencoded and multipart) decoded as UTF-8, strictly.

Starlette decodes the raw bytes of an urlencoded body as latin-1 (``Café`` sent unescaped
arrives as ``CafÃ©``), replaces invalid percent-escapes with U+FFFD, and falls back to
latin-1 for a multipart field that is not UTF-8: a lead's name would be garbled in silence.
HTML forms on a UTF-8 page send UTF-8, so that is what is read here; anything else is
refused, naming the field, like a JSON body that is not valid JSON.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from python_multipart import FormParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File, parse_options_header

__all__ = ["UndecodableField", "UnsupportedCharset", "form_fields"]

_UTF8 = {"utf-8", "utf8"}


class UnsupportedCharset(ValueError):
    """The Content-Type declares a charset other than UTF-8."""

    def __init__(self, charset: str) -> None:
        super().__init__(
            f"charset {charset!r} is not supported: send the form encoded as UTF-8 "
            '(the page holding it needs <meta charset="utf-8">)'
        )


class UndecodableField(ValueError):
    """A field that is not valid UTF-8, or a body that is not what its type says."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of an urlencoded or multipart ``body``, by name (the last of a
    repeated field wins; file uploads are left out)."""
    kind, params = parse_options_header(content_type)
    charset = params.get(b"charset", b"utf-8").decode("latin-1").strip().lower()
    if charset not in _UTF8:
        raise UnsupportedCharset(charset)
    if kind == b"multipart/form-data":
        pairs = _multipart(body, params.get(b"boundary"))
    else:
        pairs = _urlencoded(body)
    return {_name(name): _value(name, value) for name, value in pairs}


def _urlencoded(body: bytes) -> list[tuple[bytes, bytes]]:
    pairs = []
    for chunk in body.split(b"&"):
        if chunk:
            name, _, value = chunk.replace(b"+", b" ").partition(b"=")
            pairs.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return pairs


def _multipart(body: bytes, boundary: bytes | None) -> list[tuple[bytes, bytes]]:
    if not boundary:
        raise UndecodableField("(body)", "multipart/form-data needs a boundary parameter")
    pairs: list[tuple[bytes, bytes]] = []

    def on_field(field: Field) -> None:
        pairs.append((field.field_name or b"", field.value or b""))

    def on_file(file: File) -> None:
        file.close()  # an upload is not a form field here, as before

    # Files stay in memory: the body is in memory already, and limited in size.
    config = {"MAX_MEMORY_FILE_SIZE": len(body) + 1}
    parser = FormParser("multipart/form-data", on_field, on_file, boundary=boundary, config=config)
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise UndecodableField("(body)", "body is not valid multipart/form-data") from exc
    return pairs


def _name(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UndecodableField("(body)", f"field name {raw!r} is not valid UTF-8") from exc


def _value(raw_name: bytes, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UndecodableField(
            _name(raw_name),
            f"is not valid UTF-8 (byte {raw[exc.start]:#04x} at position {exc.start}); "
            "send the form encoded as UTF-8",
        ) from exc
