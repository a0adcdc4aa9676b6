"""The ``tidal`` command."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """Tidal: build, run and check Tidal projects."""


__all__ = ["main"]
