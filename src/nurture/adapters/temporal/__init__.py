"""The Temporal side of the API and CLI: the client factory and the gateway to lead workflows."""

__all__: list[str] = []
