"""Migrations: Alembic driven by Tidal, one ``migrations/`` folder per installed app with
models, no ``alembic.ini`` to write. ``tidal db makemigrations|migrate|downgrade|history|
check`` call ``Migrations`` (in ``runner.py``); ``env.py`` and ``script.py.mako`` are what
Alembic loads from this folder."""

__all__: list[str] = []
