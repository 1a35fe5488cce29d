"""Mail out: render, write the message, sign it, hand it to a relay; and the local sink."""

__all__: list[str] = []
