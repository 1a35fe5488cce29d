"""Configuration: environment settings, the project's TOML files, their checks and the watcher.

It reads files and the environment into domain models; the domain never imports it.
"""

__all__: list[str] = []
