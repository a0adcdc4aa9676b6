"""The ``tidal`` command.

Built-in commands live one per module (``run``, ``new``, ``routes``, ``check``, ``shell``).
Other Tidal parts add theirs through ``BUILTIN_COMMANDS`` (imported only when needed), and
installed apps through ``<app>/commands.py`` (``commands = [...]``), found once the
application is loaded: ``tidal --app board.app:app seed``.
"""

from __future__ import annotations

import click

import tidal
from tidal.cli import check, new, routes, run, shell
from tidal.cli.group import AppLoader, TidalGroup, pass_app

# Command groups of other Tidal parts, as "module:attribute". A module that does not exist
# (a part not written yet) is skipped; one that fails to import is an error.
BUILTIN_COMMANDS: tuple[str, ...] = (
    "tidal.db.commands:db",
    "tidal.cli.collectstatic:collectstatic",
    "tidal.cli.demo:demo",
)

main = TidalGroup(
    name="tidal",
    help="Tidal: create, run and inspect Tidal projects.",
    builtin_commands=BUILTIN_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
    # The modules stay reachable as tidal.cli.run etc.; the commands are their namesakes.
    commands=[check.check, new.new, routes.routes, run.run, shell.shell],
)
main = click.version_option(tidal.__version__, "--version", prog_name="Tidal")(main)

__all__ = ["BUILTIN_COMMANDS", "AppLoader", "TidalGroup", "main", "pass_app"]
