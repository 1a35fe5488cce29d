"""The HTTP API: forms and events in, lead views out. Build it with :func:`create_app`."""

from nurture.api.app import create_app

__all__ = ["create_app"]
