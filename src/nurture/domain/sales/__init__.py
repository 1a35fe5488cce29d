"""The sales side: the team and its routing, the hand-off, the sales log, the router's messages."""

__all__: list[str] = []
