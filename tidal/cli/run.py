"""``tidal run``: check the application, then serve it with uvicorn (or granian).

The application is handed to the server as its import string (``app:app``), which is what
lets ``--reload`` and ``--workers`` start fresh processes that import it themselves. It is
also imported here first, so a misconfiguration stops the command with the check messages
before any server starts.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any

import click

from tidal.checks import CheckMessage
from tidal.cli.check import format_messages
from tidal.cli.group import AppLoader

ACCESS_LOGGER = "tidal.access"


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def uvicorn_protocols() -> dict[str, str]:
    """The fastest loop, HTTP parser and WebSocket implementation that are installed."""
    from uvicorn.config import WS_PROTOCOLS

    return {
        "loop": "uvloop" if _installed("uvloop") else "asyncio",
        "http": "httptools" if _installed("httptools") else "h11",
        "ws": "websockets-sansio" if "websockets-sansio" in WS_PROTOCOLS else "websockets",
    }


def add_tidal_loggers(
    base: dict[str, Any], *, formatter: str, formatter_factory: str
) -> dict[str, Any]:
    """``base`` (a server's logging dictConfig) plus handlers printing Tidal's own logs:
    warnings and errors on stderr, and one ``tidal.access`` line per request on stdout
    (Tidal's access log replaces the server's)."""
    config = copy.deepcopy(base)
    config.setdefault("formatters", {})["tidal"] = {"()": formatter_factory, "fmt": formatter}
    config.setdefault("handlers", {}).update(
        {
            "tidal": {
                "formatter": "tidal",
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
            },
            "tidal.access": {
                "formatter": "tidal",
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
            },
        }
    )
    config.setdefault("loggers", {}).update(
        {
            "tidal": {"handlers": ["tidal"], "level": "INFO", "propagate": False},
            ACCESS_LOGGER: {"handlers": ["tidal.access"], "level": "INFO", "propagate": False},
        }
    )
    return config


def display_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve_uvicorn(
    target: str,
    *,
    host: str,
    port: int,
    reload: bool,
    workers: int | None,
    app_dir: Path | None = None,
) -> None:
    """Serve ``target`` (imported from ``app_dir``, default the current folder)."""
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    log_config = add_tidal_loggers(
        LOGGING_CONFIG,
        formatter="%(levelprefix)s %(message)s",
        formatter_factory="uvicorn.logging.DefaultFormatter",
    )
    protocols = uvicorn_protocols()
    uvicorn.run(
        target,
        host=host,
        port=port,
        reload=reload,
        # Templates are re-read by Jinja in debug; a changed .env means new settings.
        reload_includes=["*.py", ".env"] if reload else None,
        workers=workers,
        app_dir=str(app_dir or Path.cwd()),
        lifespan="on",
        access_log=False,
        log_config=log_config,
        server_header=False,
        loop=protocols["loop"],
        http=protocols["http"],
        ws=protocols["ws"],
    )


def serve_granian(target: str, *, host: str, port: int, reload: bool, workers: int | None) -> None:
    try:
        from granian import Granian
        from granian.constants import Interfaces, Loops
        from granian.log import LOGGING_CONFIG
    except ImportError:
        raise click.ClickException(
            "--server granian needs granian: pip install 'granian[reload]'"
        ) from None
    log_config = add_tidal_loggers(
        LOGGING_CONFIG,
        formatter="[%(levelname)s] %(message)s",
        formatter_factory="logging.Formatter",
    )
    server = Granian(
        target,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers or 1,
        loop=Loops.uvloop if _installed("uvloop") else Loops.asyncio,
        reload=reload,
        # As for uvicorn: only code and .env. granian's default watches every file, so a
        # write by the application (the default SQLite database) restarted it in a loop.
        reload_filter=code_changes_filter() if reload else None,
        working_dir=Path.cwd(),
        log_access=False,
        log_dictconfig=log_config,
    )
    server.serve()


def code_changes_filter() -> Any:
    """A watchfiles filter class passing changes to ``*.py`` and ``.env`` files only."""
    from watchfiles import DefaultFilter

    class CodeChanges(DefaultFilter):
        def __call__(self, change: Any, path: str) -> bool:
            name = Path(path).name
            return (name.endswith(".py") or name == ".env") and super().__call__(change, path)

    return CodeChanges


SERVERS = {"uvicorn": serve_uvicorn, "granian": serve_granian}


def refuse_on_errors(messages: list[CheckMessage]) -> None:
    """Stop with the check report (exit status 1) when any message is an error."""
    if any(m.is_serious for m in messages):
        click.echo(format_messages(messages), err=True)
        click.echo(
            "\nThe application was not started. Fix the errors above (each names the setting "
            "and the fix), then run again; `tidal check` shows them alone.",
            err=True,
        )
        raise SystemExit(1)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    "-p",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option(
    "--reload", is_flag=True, help="Restart when a .py or .env file changes (development)."
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default 1). With more than one, set TIDAL_REDIS_URL so "
    "real-time events reach every worker.",
)
@click.option(
    "--server",
    type=click.Choice(sorted(SERVERS)),
    default="uvicorn",
    show_default=True,
    help="The ASGI server.",
)
@click.pass_obj
def run(
    loader: AppLoader, host: str, port: int, reload: bool, workers: int | None, server: str
) -> None:
    """Check the application, then serve it.

    \b
      tidal run                     http://127.0.0.1:8000
      tidal run --reload            restart on code changes
      tidal run --host 0.0.0.0 --port 80 --workers 4
    """
    if reload and workers and workers > 1:
        raise click.UsageError("--reload runs one process; drop --workers or --reload.")
    target = loader.import_string
    app = loader.load()
    refuse_on_errors(app.run_checks())
    app.build()  # compiles the routes: a bad handler signature fails here, not later
    if workers and workers > 1 and not app.settings.redis_url:
        click.secho(
            f"Note: {workers} workers without TIDAL_REDIS_URL do not share pub/sub, cache or "
            "presence; real-time events reach only the sockets of the worker that sent them.",
            err=True,
        )
    mode = " with reload" if reload else (f" with {workers} workers" if workers else "")
    click.echo(f"Tidal: serving {target} at {display_url(host, port)}{mode} (Ctrl+C to quit)")
    SERVERS[server](target, host=host, port=port, reload=reload, workers=workers)


__all__ = ["run"]
