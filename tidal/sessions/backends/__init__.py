"""Session stores: one interface (``base``), process memory, Redis and the database
(``tidal_session`` table of the ``tidal.sessions`` app) beside it."""

__all__: list[str] = []
