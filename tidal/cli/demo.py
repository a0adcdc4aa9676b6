"""``tidal demo``: the real-time kanban board of ``examples/board``, seeded and served.

It needs a checkout of Tidal (the board is an example project, not part of the package).
Everything it writes goes to one folder (``--dir``, default ``./tidal-demo``): the SQLite
database and a secret key kept between runs so sessions survive restarts. With
``TIDAL_DATABASE_URL`` and ``TIDAL_REDIS_URL`` set it runs on PostgreSQL and Redis
instead, and ``--workers 2`` then shares live updates between worker processes.

Settings are passed to the application (and to the worker processes the server starts) as
``TIDAL_*`` environment variables; ones already set win, so any setting can be changed.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tidal.cli.run import display_url, refuse_on_errors, serve_uvicorn

if TYPE_CHECKING:
    from tidal.app import Tidal

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "board"
DATABASE_FILE = "db.sqlite3"
KEY_FILE = "secret-key"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def project_folder() -> Path:
    """The board project, or a message saying where to get it."""
    if not (PROJECT / "app.py").is_file():
        raise click.ClickException(
            f"The demo board is not at {PROJECT}: `tidal demo` runs the example project of a "
            "Tidal checkout. Clone the repository and run scripts/start from it."
        )
    return PROJECT


def demo_environment(
    directory: Path, host: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``TIDAL_*`` variables the demo sets: its database and secret key in
    ``directory`` and the hosts it answers for. Variables already in ``environ`` are kept."""
    environ = os.environ if environ is None else environ
    secret_file = directory / KEY_FILE
    if not secret_file.exists() and "TIDAL_SECRET_KEY" not in environ:
        secret_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        secret_file.chmod(0o600)
    hosts = list(LOCAL_HOSTS)
    if host not in ("0.0.0.0", "::", *hosts):
        hosts.append(f"[{host}]" if ":" in host else host)
    values = {
        "TIDAL_DEBUG": "false",
        "TIDAL_DATABASE_URL": f"sqlite+aiosqlite:///{directory / DATABASE_FILE}",
        "TIDAL_ALLOWED_HOSTS": ",".join(hosts) if host not in ("0.0.0.0", "::") else "*",
    }
    if "TIDAL_SECRET_KEY" not in environ:
        values["TIDAL_SECRET_KEY"] = secret_file.read_text(encoding="utf-8").strip()
    return {key: value for key, value in values.items() if key not in environ}


def load_board(project: Path) -> Tidal:
    """Import the board's ``app`` module (from ``project``, first on ``sys.path``)."""
    if str(project) not in sys.path:
        sys.path.insert(0, str(project))
    module = importlib.import_module("app")
    if Path(module.__file__ or "").resolve().parent != project:
        raise click.ClickException(
            f"Another module named 'app' ({module.__file__}) was imported before the demo's."
        )
    app: Tidal = module.app
    return app


def prepare(app: Tidal, *, seed: bool = True) -> Any:
    """Apply the migrations and, with ``seed``, add the demo users and board; returns
    ``board.seed.Seeded`` (None without ``seed``)."""
    from tidal.db.lifecycle import database
    from tidal.db.migrations.runner import Migrations

    applied = Migrations(app).migrate()
    if applied:
        click.echo(f"Applied the migrations {', '.join(applied)}.")
    if not seed:
        return None
    seeding = importlib.import_module("board.seed")

    async def run() -> Any:
        try:
            return await seeding.seed(app)
        finally:
            # What the seeding opened on this event loop (the database pool, the pub/sub
            # connection its broadcasts went through) closes with it; the server opens its own.
            await app.channels.stop()
            await database(app).dispose()

    return asyncio.run(run())


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("tidal-demo"),
    show_default=True,
    help="Folder for the SQLite database and the secret key (created if needed).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port", "-p", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port."
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default 1); set TIDAL_REDIS_URL so they share live updates.",
)
@click.option("--no-seed", is_flag=True, help="Do not create the demo users and board.")
def demo(directory: Path, host: str, port: int, workers: int | None, no_seed: bool) -> None:
    """Serve the demo: a real-time collaborative kanban board.

    \b
      tidal demo                       http://127.0.0.1:8000, data in ./tidal-demo
      tidal demo --dir /tmp/board --port 8001
      TIDAL_DATABASE_URL=postgresql+asyncpg://... TIDAL_REDIS_URL=redis://... \\
        tidal demo --workers 2
    """
    project = project_folder()
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    # Set in this process's environment so that the worker processes inherit them.
    os.environ.update(demo_environment(directory, host))
    app = load_board(project)
    refuse_on_errors(app.run_checks())
    app.build()
    seeded = prepare(app, seed=not no_seed)
    url = display_url(host if host not in ("0.0.0.0", "::") else "127.0.0.1", port)
    from tidal.db.lifecycle import mask_url

    click.echo(f"\nTidal demo: a real-time kanban board ({project})")
    click.echo(f"  database  {mask_url(app.settings.database_url)}")
    click.echo(f"  pub/sub   {'Redis' if app.settings.redis_url else 'in this process'}")
    click.echo(f"  open      {url}")
    if seeded is not None:
        first, *others = seeded.usernames
        click.echo(f"  log in as {first} / {seeded.password}")
        for name in others:
            click.echo(
                f"        or {name} / {seeded.password} (in a private window: "
                "both see each other's changes live)"
            )
    if workers and workers > 1 and not app.settings.redis_url:
        click.secho(
            f"Note: {workers} workers without TIDAL_REDIS_URL do not share live updates.",
            err=True,
        )
    click.echo("")
    serve_uvicorn("app:app", host=host, port=port, reload=False, workers=workers, app_dir=project)


__all__ = ["demo", "demo_environment", "load_board", "prepare", "project_folder"]
