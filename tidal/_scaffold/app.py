"""The application: `tidal run` serves `app`, and the tests use it (see pyproject.toml)."""

from tidal import Tidal

# Installed apps, in override order: the first app with a template or static file wins.
# Each app's routes.py, templates/ and static/ (served at /static/) are picked up.
app = Tidal(apps=["home"])
