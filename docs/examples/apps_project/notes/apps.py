"""Optional: an AppConfig subclass for what conventions do not cover."""

from collections.abc import Iterator

from tidal import AppConfig, Tidal
from tidal.checks import CheckMessage, Warning

from .models import NoteStore


class NotesConfig(AppConfig):
    label = "notes"

    def ready(self, app: Tidal) -> None:
        """Called once every installed app is loaded, before the app starts."""
        store = NoteStore()
        app.provide(NoteStore, lambda: store)
        app.check(check_notes_title)


def check_notes_title(app: Tidal) -> Iterator[CheckMessage]:
    if app.settings.title == "Tidal":
        yield Warning(
            "notes.W001",
            "The site still has the default title.",
            hint="Set TIDAL_TITLE to the name of the site.",
            obj="settings",
        )
