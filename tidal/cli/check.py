"""``tidal check``: run the start-up checks alone and report them."""

from __future__ import annotations

from collections.abc import Sequence

import click

from tidal.checks import CheckMessage, Level
from tidal.cli.group import AppLoader

_HEADINGS = {Level.ERROR: "ERRORS", Level.WARNING: "WARNINGS", Level.INFO: "INFOS"}


def format_messages(messages: Sequence[CheckMessage]) -> str:
    """The report of ``tidal check``: messages grouped by level, worst first, each with its
    id and hint, and a count."""
    if not messages:
        return "System check identified no issues."
    lines = ["System check identified some issues:"]
    for level in sorted(_HEADINGS, reverse=True):
        found = [m for m in messages if m.level == level]
        if found:
            lines += ["", f"{_HEADINGS[level]}:", *(str(m) for m in found)]
    count = len(messages)
    lines += ["", f"System check identified {count} issue{'s' if count != 1 else ''}."]
    return "\n".join(lines)


@click.command()
@click.option("--deploy", is_flag=True, help="Also run the checks for a production deployment.")
@click.option(
    "--fail-level",
    type=click.Choice([level.name for level in Level], case_sensitive=False),
    default=Level.ERROR.name,
    show_default=True,
    help="Exit with status 1 when a message is at this level or above.",
)
@click.pass_obj
def check(loader: AppLoader, deploy: bool, fail_level: str) -> None:
    """Run the start-up checks; report each issue with its id and a hint.

    \b
      tidal check             the checks `tidal run` also runs
      tidal check --deploy    plus the production ones (debug off, real hosts, ...)
    """
    messages = loader.load().run_checks(deploy=deploy)
    threshold = Level[fail_level.upper()]
    failed = any(m.level >= threshold for m in messages)
    click.echo(format_messages(messages), err=failed)
    if failed:
        raise SystemExit(1)


__all__ = ["check", "format_messages"]
