"""The links nurture puts in emails and the signed tokens they carry."""

__all__: list[str] = []
