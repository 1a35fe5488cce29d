"""nurture: durable lead nurturing on Temporal.

Its subpackages are its layers, each importing only those below it (``lint-imports``
checks it): ``domain`` (pure rules, which the workflows import), ``adapters`` and
``config`` (I/O and configuration), ``services`` (what the API and CLI share), ``api``,
``cli`` and ``devtools``; ``testing`` holds fakes for users' tests.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
