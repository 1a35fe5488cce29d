"""Rules for text that comes from outside: no control characters, ever.

CR/LF in a name can inject mail headers (CVE-2024-6923 on CPython 3.11.7), and other control
characters corrupt logs and the Temporal UI, so intake rejects them with a clear error and
rendering strips them from anything that ends up in a header.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

__all__ = [
    "ShortText",
    "reject_control_characters",
    "strip_control_characters",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def reject_control_characters(value: str) -> str:
    """Return ``value`` unchanged, or raise ``ValueError`` naming the offending character."""
    match = _CONTROL.search(value)
    if match:
        raise ValueError(
            f"must not contain control characters (found {match.group()!r} "
            f"at position {match.start()})"
        )
    return value


def strip_control_characters(value: str) -> str:
    """Replace every control character by a space and collapse the runs of spaces."""
    return " ".join(_CONTROL.sub(" ", value).split())


ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(reject_control_characters),
]
"""A single-line text field from a form: trimmed, 1-200 characters, no control characters."""
