"""``tidal routes``: every route and mount of the application, as a table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import click

from tidal.cli.group import AppLoader

if TYPE_CHECKING:
    from tidal.app import Tidal

HEADER = ("METHODS", "PATH", "NAME", "HANDLER")


def describe(obj: Any) -> str:
    """``module:qualname`` of a handler or mounted app (its class for instances)."""
    target = obj if hasattr(obj, "__qualname__") else type(obj)
    module = getattr(target, "__module__", None) or "?"
    return f"{module}:{target.__qualname__}"


def route_rows(app: Tidal, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, ...]]:
    """One row per route and mount; a mounted Tidal app's routes are listed under it."""
    table = app.route_table
    for route in table.routes:
        methods = "WS" if route.websocket else ",".join(sorted(route.methods))
        yield methods, prefix + route.path, namespace + route.name, describe(route.handler)
    for mount in sorted(table.mounts, key=lambda m: m.prefix):
        name = namespace + mount.name if mount.name else ""
        yield "MOUNT", f"{prefix}{mount.prefix}/*", name, describe(mount.app)
        if getattr(mount.app, "__tidal_app__", False):
            sub_namespace = f"{name}:" if mount.name else namespace
            sub_app = cast("Tidal", mount.app)
            yield from route_rows(sub_app, prefix + mount.prefix, sub_namespace)


def format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [HEADER, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


@click.command()
@click.option(
    "--sort",
    type=click.Choice(["path", "name", "handler", "none"]),
    default="path",
    show_default=True,
    help="Order of the rows; 'none' keeps declaration order.",
)
@click.pass_obj
def routes(loader: AppLoader, sort: str) -> None:
    """List the routes and mounts: methods, path, name and handler.

    WebSocket routes show WS as their method and mounted applications MOUNT; the routes of
    a mounted Tidal application are listed under its prefix.
    """
    rows = list(route_rows(loader.load()))
    if sort != "none":
        column = {"path": 1, "name": 2, "handler": 3}[sort]
        rows.sort(key=lambda row: (row[column], row[0]))
    if not rows:
        click.echo("No routes. Add some with @app.get(...) or an app's routes.py.")
        return
    click.echo(format_table(rows))


__all__ = ["routes"]
