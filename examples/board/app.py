"""The kanban board: `tidal run` serves `app` from this folder (`tidal demo` from anywhere).

The board app is listed first so its templates (the site's look, the login page) win over
those of tidal.auth; tidal.sessions keeps sessions in the database (a restart logs no one
out); tidal.realtime brings the outbox that makes the models' broadcasts reliable.
"""

from tidal import Tidal

app = Tidal(
    apps=["board", "tidal.auth", "tidal.sessions", "tidal.realtime"],
    settings={"title": "Tidal Board API", "version": "1.0"},
)
