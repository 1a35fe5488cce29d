"""Configuration: environment settings, the project's TOML files read into models (``files``),
their checks (the files, the templates, the sequences' events) and the watcher.

It reads files and the environment into domain models; the domain never imports it.
"""

__all__: list[str] = []
