"""Session stores: one interface (``base``), process memory and Redis beside it.

A database store (for the data layer) implements the same four methods on a table of
``(key, value, expires_at)`` rows; see ``SessionStore``.
"""

__all__: list[str] = []
