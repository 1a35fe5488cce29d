"""The pure domain: models and rules, no I/O, no Temporal.

Workflows import it; it imports nothing else of nurture but :mod:`nurture.errors`.
"""

__all__: list[str] = []
