"""``tidal new``: create a runnable project from the template in ``tidal/_scaffold/``.

Every file of the template is copied; a ``.tmpl`` file has the suffix dropped and its
``$name`` placeholders substituted (``string.Template``), and a leading ``dot-`` in a name
becomes ``.`` (stored as ``dot-gitignore``, the project's ``.gitignore`` does not apply to
Tidal's own repository).

The project folder is never a Python package: ``app.py`` and the ``home`` app sit at its
top level, so a project may be called ``site`` or ``email`` without shadowing the standard
library.
"""

from __future__ import annotations

import re
import secrets
import string
from pathlib import Path

import click

import tidal

SCAFFOLD = Path(__file__).resolve().parent.parent / "_scaffold"
TEMPLATE_SUFFIX = ".tmpl"
DOT_PREFIX = "dot-"
# A folder name that is also a valid distribution name (PEP 508), for pyproject.toml.
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*")
RESERVED = {"tidal"}
SKIPPED = {"__pycache__"}


def validate_name(name: str) -> str:
    """The name, or a ``click.BadParameter`` saying what a valid one looks like."""
    if not NAME_PATTERN.fullmatch(name):
        raise click.BadParameter(
            f"{name!r} is not a valid project name. Use letters, digits, '-' and '_', "
            "starting with a letter and not ending with '-' or '_' (e.g. my-site).",
            param_hint="NAME",
        )
    if name.lower() in RESERVED:
        raise click.BadParameter(
            f"{name!r} is taken: the project's pyproject.toml would name a distribution that "
            "depends on itself. Choose another name.",
            param_hint="NAME",
        )
    return name


def template_files(root: Path = SCAFFOLD) -> list[Path]:
    """The template's files, relative to ``root``, in a stable order."""
    return sorted(
        path.relative_to(root)
        for path in root.rglob("*")
        if path.is_file()
        and not SKIPPED.intersection(path.relative_to(root).parts)
        and path.suffix != ".pyc"
    )


def destination(relative: Path) -> Path:
    """Where a template file goes in the project: ``dot-env`` -> ``.env``, no ``.tmpl``."""
    path = Path(
        *(
            "." + part.removeprefix(DOT_PREFIX) if part.startswith(DOT_PREFIX) else part
            for part in relative.parts
        )
    )
    return path.with_suffix("") if path.suffix == TEMPLATE_SUFFIX else path


def create_project(name: str, target: Path, *, root: Path = SCAFFOLD) -> list[Path]:
    """Write the project ``name`` into ``target`` (absent or empty); returns the files."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise click.ClickException(
            f"{target} already exists and is not empty; Tidal will not overwrite it. "
            "Choose another name or pass --directory."
        )
    values = {
        "project_name": name,
        "secret_key": secrets.token_urlsafe(50),
        "tidal_version": tidal.__version__,
    }
    written: list[Path] = []
    for relative in template_files(root):
        source = root / relative
        path = target / destination(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == TEMPLATE_SUFFIX:
            text = string.Template(source.read_text(encoding="utf-8")).substitute(values)
            path.write_text(text, encoding="utf-8")
        else:
            path.write_bytes(source.read_bytes())
        written.append(path)
    env_file = target / ".env"
    if env_file.exists():
        env_file.chmod(0o600)  # it holds the secret key
    return written


@click.command()
@click.argument("name")
@click.option(
    "--directory",
    "-d",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to create the project in (default: ./NAME). It must be absent or empty.",
)
def new(name: str, directory: Path | None) -> None:
    """Create a new project NAME, ready to run and test.

    It has one app (home) with a page, a JSON endpoint, a template, a stylesheet and
    tests, and a .env with development settings and a generated secret key.

    \b
      tidal new mysite
      cd mysite && tidal run
    """
    validate_name(name)
    target = (directory or Path(name)).resolve()
    create_project(name, target)
    shown = directory if directory is not None else Path(name)
    click.echo(f"Created the Tidal project {name!r} in {target}.\n")
    click.echo("Next steps:")
    click.echo(f"  cd {shown}")
    click.echo("  tidal run              # http://127.0.0.1:8000, --reload while coding")
    click.echo("  python -m pytest       # the project's tests")
    click.echo(
        "\n.env holds a generated TIDAL_SECRET_KEY and TIDAL_DEBUG=true; keep it out of "
        "version control (.gitignore lists it)."
    )


__all__ = ["create_project", "new", "validate_name"]
