"""Operations the API and the CLI share (intake, unsubscribe, mail reports, erasure)."""

__all__: list[str] = []
