"""``tidal sessions clear``: delete expired sessions (for cron; the database store also
sweeps them every hour by itself)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from tidal.cli.group import pass_app

if TYPE_CHECKING:
    from tidal.app import Tidal


async def clear_expired_sessions(app: Tidal) -> tuple[str, int]:
    """Delete the expired sessions of ``app``'s store; returns the store's name and how
    many were deleted."""
    from tidal.sessions.backends.database import DatabaseSessionStore
    from tidal.sessions.stores import create_store, store_name

    store = create_store(app)
    try:
        if isinstance(store, DatabaseSessionStore):
            await store.check()  # a missing table: say to migrate, not a traceback
        return store_name(app), await store.clear_expired()
    finally:
        await store.close()


@click.group("sessions")
def sessions() -> None:
    """Manage the stored sessions."""


@sessions.command("clear")
@pass_app
def clear(app: Tidal) -> None:
    """Delete expired sessions from the store."""
    name, count = asyncio.run(clear_expired_sessions(app))
    if name == "database":
        click.echo(f"{count} expired session(s) deleted.")
    else:
        click.echo(f"Sessions are kept in {name}, which expires them by itself.")


commands = [sessions]

__all__ = ["clear", "clear_expired_sessions", "commands", "sessions"]
