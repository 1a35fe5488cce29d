"""The facts store: where the facts log is kept, in the ledger's database (SQLite by
default, Postgres in docker-compose)."""

from nurture.adapters.factlog.base import FactStore

__all__ = ["FactStore"]
