"""The manifest of collected static files: which content-hashed name serves each file.

``tidal collectstatic`` writes ``staticfiles.json`` into ``static_root``::

    {"version": 1,
     "paths": {"css/site.css": "css/site.5f1e0c2a9b3d.css", ...},
     "gzip": ["css/site.5f1e0c2a9b3d.css", ...]}

A hashed name changes whenever the content does, so browsers and CDNs may keep it forever
(``Cache-Control: immutable``) and a deploy is picked up at once. ``gzip`` lists the files
that have a pre-compressed ``.gz`` beside them, so serving one costs no extra lookup.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from tidal.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from tidal.app import Tidal
    from tidal.conf.settings import Settings

MANIFEST_NAME = "staticfiles.json"
STATE_KEY = "tidal.templates.static_manifest"


class Manifest(msgspec.Struct, kw_only=True):
    """The decoded ``staticfiles.json``."""

    version: int = 1
    paths: dict[str, str] = msgspec.field(default_factory=dict)
    gzip: list[str] = msgspec.field(default_factory=list)


def serves_collected(settings: Settings) -> bool:
    """Whether static files come from ``static_root`` (set, and debug off)."""
    return bool(settings.static_root) and not settings.debug


def load_manifest(root: str | Path) -> Manifest:
    """Read ``root/staticfiles.json``; a missing or broken one says to run collectstatic."""
    path = Path(root) / MANIFEST_NAME
    try:
        return msgspec.json.decode(path.read_bytes(), type=Manifest)
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"TIDAL_STATIC_ROOT is {str(root)!r} but {path} does not exist. Run `tidal "
            "collectstatic` when deploying (or unset TIDAL_STATIC_ROOT to serve the apps' "
            "static folders directly)."
        ) from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ImproperlyConfigured(
            f"{path} is not a valid static files manifest ({exc}); run `tidal collectstatic` again."
        ) from None


def get_manifest(app: Tidal) -> Manifest | None:
    """The application's manifest when it serves collected files, read once; else None."""
    settings = app.settings
    if not serves_collected(settings):
        return None
    manifest = app.state.get(STATE_KEY)
    if manifest is None:
        assert settings.static_root is not None
        manifest = app.state[STATE_KEY] = load_manifest(settings.static_root)
    assert isinstance(manifest, Manifest)
    return manifest


__all__ = ["MANIFEST_NAME", "Manifest", "get_manifest", "load_manifest", "serves_collected"]
