"""One lead: its state, the messages it receives, its journey, and the view people read."""

__all__: list[str] = []
