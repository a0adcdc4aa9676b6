"""``tidal collectstatic``: gather every installed app's static files into one folder, with
content-hashed names, gzip variants and a manifest, ready to be served in production."""

from __future__ import annotations

from pathlib import Path

import click

from tidal.cli.group import AppLoader
from tidal.exceptions import ImproperlyConfigured


@click.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The folder to fill; default: TIDAL_STATIC_ROOT.",
)
@click.option("--clear", is_flag=True, help="Empty the folder first (drops old hashed files).")
@click.option("--no-gzip", is_flag=True, help="Do not write pre-compressed .gz variants.")
@click.option("--verbose", "-v", is_flag=True, help="List overridden files.")
@click.pass_obj
def collectstatic(
    loader: AppLoader, output: Path | None, clear: bool, no_gzip: bool, verbose: bool
) -> None:
    """Copy the apps' static/ folders into TIDAL_STATIC_ROOT with content-hashed names.

    \b
      tidal collectstatic                 into TIDAL_STATIC_ROOT
      tidal collectstatic -o build/static into another folder (e.g. for a CDN upload)

    With TIDAL_STATIC_ROOT set and debug off, Tidal serves that folder: static("css/x.css")
    in templates gives the hashed name, cached by browsers for a year.
    """
    from tidal.templates.collect import collect_static
    from tidal.templates.staticfiles import static_dirs

    app = loader.load()
    target = output if output is not None else app.settings.static_root
    if not target:
        raise ImproperlyConfigured(
            "Where should the static files go? Set TIDAL_STATIC_ROOT (e.g. "
            "TIDAL_STATIC_ROOT=staticfiles in .env) or pass --output DIR."
        )
    directories = static_dirs(app)
    result = collect_static(directories, target, compress=not no_gzip, clear=clear)
    if verbose:
        for path, source in result.overridden:
            click.echo(f"  {path}: {source} is overridden by an earlier app")
    apps = len(directories)
    click.echo(
        f"Collected {result.count} static file{'s' if result.count != 1 else ''} from "
        f"{apps} app{'s' if apps != 1 else ''} into {result.root} "
        f"({len(result.gzipped)} gzip variant{'s' if len(result.gzipped) != 1 else ''}); "
        f"manifest: {result.root / 'staticfiles.json'}."
    )
    if result.overridden and not verbose:
        click.echo(
            f"{len(result.overridden)} file(s) of later apps are overridden by earlier "
            "ones (-v lists them)."
        )


__all__ = ["collectstatic"]
