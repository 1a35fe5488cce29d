"""Adapters: every way nurture touches the outside world (mail, ledger, links, Temporal).

Activities, the API, the CLI and services use them; the domain and the workflows never do.
"""

__all__: list[str] = []
