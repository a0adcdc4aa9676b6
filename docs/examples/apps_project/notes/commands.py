"""CLI commands the app adds to ``tidal`` (see topics/cli.md)."""

import click


@click.command("count-notes")
def count_notes() -> None:
    """Print how many notes exist."""
    click.echo("0 notes")


commands = [count_notes]
