"""nurture: durable lead nurturing on Temporal.

The package holds the pure domain (models, scoring, lifecycle, identity, email keys), which
workflows import, and the adapters (settings, rendering, SMTP, ledger, Temporal client, API,
CLI, dev stack), which workflows never import.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
