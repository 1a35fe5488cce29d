"""One router per resource the API serves."""

__all__: list[str] = []
