"""A project made of installed apps: ``notes`` contributes routes, models, templates,
static files, commands and a check."""

from tidal import Tidal

app = Tidal(apps=["notes"])
