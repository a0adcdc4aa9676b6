"""Where in a template an error happened, for the logs and the debug error page.

Jinja rewrites the traceback of an error raised while rendering so that its frames point at
template files and lines; ``template_location`` reads the innermost of those (or the
position a ``TemplateSyntaxError`` carries). ``render`` adds it to the exception as a note,
which ``traceback`` prints, so the debug 500 page and the error log name the template and
line. Production responses stay a plain 500: notes never reach the client.
"""

from __future__ import annotations

import dataclasses
import linecache
import os
from collections.abc import Sequence
from pathlib import Path

NOTE_PREFIX = "Template "


@dataclasses.dataclass(frozen=True)
class TemplateLocation:
    """A line of a template: its lookup name (``shop/page.html``) when known, its file,
    the line number and that line's text."""

    name: str | None
    filename: str | None
    lineno: int
    line: str = ""

    def __str__(self) -> str:
        where = repr(self.name or self.filename or "<string>")
        text = f"{NOTE_PREFIX}{where}, line {self.lineno}"
        if self.filename and self.name and self.filename != self.name:
            text += f" ({self.filename})"
        return f"{text}: {self.line}" if self.line else text


def _name_for(filename: str, search_paths: Sequence[str | os.PathLike[str]]) -> str | None:
    path = Path(filename)
    for root in search_paths:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            continue
    return None


def template_location(
    exc: BaseException, search_paths: Sequence[str | os.PathLike[str]] = ()
) -> TemplateLocation | None:
    """The template line ``exc`` was raised at, or ``None`` if it did not come from a
    template. ``search_paths`` (the template folders) turn file paths into names."""
    import jinja2

    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
        source = (exc.source or "").splitlines()
        line = source[exc.lineno - 1].strip() if 0 < exc.lineno <= len(source) else ""
        name = exc.name or (_name_for(exc.filename, search_paths) if exc.filename else None)
        return TemplateLocation(name, exc.filename, exc.lineno, line)
    found: TemplateLocation | None = None
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            filename = tb.tb_frame.f_code.co_filename
            lineno = tb.tb_lineno
            line = linecache.getline(filename, lineno).strip() if os.path.isfile(filename) else ""
            found = TemplateLocation(_name_for(filename, search_paths), filename, lineno, line)
        tb = tb.tb_next
    return found


def add_template_note(
    exc: BaseException, search_paths: Sequence[str | os.PathLike[str]] = ()
) -> TemplateLocation | None:
    """Note the template location on ``exc`` (once); returns it."""
    location = template_location(exc, search_paths)
    if location is not None:
        notes = getattr(exc, "__notes__", [])
        if not any(note.startswith(NOTE_PREFIX) for note in notes):
            exc.add_note(str(location))
    return location


def template_error_summary(exc: BaseException) -> str | None:
    """The template line noted on ``exc`` by ``render``, for an error page's headline."""
    for note in getattr(exc, "__notes__", []):
        if isinstance(note, str) and note.startswith(NOTE_PREFIX):
            return note
    return None


__all__ = ["TemplateLocation", "add_template_note", "template_error_summary", "template_location"]
