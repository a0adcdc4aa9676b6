"""``tidal db``: make, apply, revert, list and check migrations.

The ``tidal`` command adds this group; ``python -m tidal.db.commands`` runs it alone (the
application is then found through ``TIDAL_APP`` or ``app.py``/``main.py`` in the current
folder, as for ``tidal``). Importing this module loads neither SQLAlchemy nor Alembic.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from tidal.app import Tidal
    from tidal.db.migrations.runner import Migrations


def _load_app(ctx: click.Context) -> Tidal:
    """The application: from the ``tidal`` group's loader, or a dict's ``app_target``, or
    the default discovery."""
    from tidal.cli.discovery import import_app
    from tidal.exceptions import AppNotFound

    obj: Any = ctx.find_root().obj if ctx.obj is None else ctx.obj
    if hasattr(obj, "load"):
        app = obj.load()
    else:
        target = obj.get("app_target") if isinstance(obj, dict) else None
        app = import_app(target)
    if not getattr(app, "__tidal_app__", False):
        raise AppNotFound(f"{app!r} is not a Tidal application.")
    return app  # type: ignore[no-any-return]


def _migrations(ctx: click.Context) -> Migrations:
    from tidal.db.migrations.runner import Migrations

    migrations = Migrations(_load_app(ctx), stdout=sys.stdout)
    if not migrations.apps:
        click.echo("No installed app declares models; there is nothing to migrate.")
    return migrations


def _fail_on_errors(function: Any) -> Any:
    """Errors the user can fix end the command with their message, not a traceback."""
    import functools

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from alembic.util import CommandError

        from tidal.exceptions import TidalError

        try:
            return function(*args, **kwargs)
        except (TidalError, CommandError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group()
def db() -> None:
    """Database migrations (Alembic), one migrations/ folder per installed app."""


@db.command()
@click.option("-m", "--message", required=True, help="What changed, e.g. 'add due dates'.")
@click.option("--app", "label", metavar="LABEL", help="Only this installed app (its label).")
@click.pass_context
@_fail_on_errors
def makemigrations(ctx: click.Context, message: str, label: str | None) -> None:
    """Write migrations for the models that changed since the last migrations."""
    migrations = _migrations(ctx)
    if not migrations.apps:
        return
    written = migrations.makemigrations(message, label)
    if not written:
        click.echo("No changes: the models match the migrations.")
    for path in written:
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        click.echo(f"Created {shown}")


@db.command()
@click.argument("target", default="heads", required=False)
@click.pass_context
@_fail_on_errors
def migrate(ctx: click.Context, target: str) -> None:
    """Apply migrations, up to TARGET (default: all of them)."""
    migrations = _migrations(ctx)
    if not migrations.apps:
        return
    applied = migrations.migrate(target)
    for revision in applied:
        click.echo(f"Applied {revision}")
    if not applied:
        click.echo("Nothing to apply: the database is up to date.")


@db.command()
@click.argument("target")
@click.pass_context
@_fail_on_errors
def downgrade(ctx: click.Context, target: str) -> None:
    """Revert migrations down to TARGET: e.g. board@-1, board_0002, board@base or base."""
    migrations = _migrations(ctx)
    if not migrations.apps:
        return
    for revision in migrations.downgrade(target):
        click.echo(f"Reverted {revision}")


@db.command()
@click.pass_context
@_fail_on_errors
def history(ctx: click.Context) -> None:
    """List the migrations of every app, newest first; (current) marks the applied heads."""
    migrations = _migrations(ctx)
    if migrations.apps:
        migrations.history()


@db.command()
@click.pass_context
@_fail_on_errors
def check(ctx: click.Context) -> None:
    """Exit with status 1 when the models and the migrations disagree (for CI)."""
    migrations = _migrations(ctx)
    if not migrations.apps:
        return
    differences = migrations.check()
    if differences:
        click.echo("The models and the migrations disagree:", err=True)
        for difference in differences:
            click.echo(f"  - {difference}", err=True)
        click.echo('Run `tidal db makemigrations -m "..."` and commit the result.', err=True)
        ctx.exit(1)
    click.echo("OK: the models match the migrations.")


if __name__ == "__main__":  # python -m tidal.db.commands
    db(prog_name="tidal db")


__all__ = ["db"]
