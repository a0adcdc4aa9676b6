"""Every setting Tidal reads, with its default and why. This is the one commented file.

Each field can be set, from lowest to highest precedence, by: its default here; an UPPERCASE
name in the module named by ``TIDAL_SETTINGS_MODULE``; a ``TIDAL_<NAME>`` line in ``.env``; a
``TIDAL_<NAME>`` environment variable; and the ``settings=`` argument of ``Tidal(...)``.
"""

from __future__ import annotations

import msgspec


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Validated project settings. Build with ``Settings(...)`` or ``load_settings()``."""

    # Debug mode: readable error pages with tracebacks, localhost allowed without listing it,
    # relaxed start-up checks. Never on in production.
    debug: bool = False

    # Signs sessions, CSRF tokens and other secrets. Required (>= 50 characters, varied)
    # unless ``debug`` is on; generate one with ``tidal new`` or ``python -c "import secrets;
    # print(secrets.token_urlsafe(50))"``.
    secret_key: str = ""

    # Host names this site answers for (Host header). "*" allows any; ".example.com" allows
    # a domain and its subdomains. Empty is refused at start-up unless ``debug`` is on.
    allowed_hosts: list[str] = msgspec.field(default_factory=list)

    # SQLAlchemy URL of the database. SQLite in the project folder by default; use
    # ``postgresql+asyncpg://user@host/db`` to scale past one host.
    database_url: str = "sqlite+aiosqlite:///db.sqlite3"

    # Redis for cross-process pub/sub, cache, sessions and rate limits; in-process when unset.
    redis_url: str | None = None

    # Largest request body accepted, in bytes; larger bodies get 413 without being read.
    max_body_size: int = 1_048_576

    # Where the OpenAPI document is served; None turns it off.
    openapi_url: str | None = "/openapi.json"

    # Title and version shown in the OpenAPI document.
    title: str = "Tidal"
    version: str = "0.1.0"

    # Log one structured line per request on the ``tidal.access`` logger.
    access_log: bool = True

    # Header carrying the request id in and out; a client-sent id is kept when it is safe.
    request_id_header: str = "x-request-id"

    # Origins allowed to make cross-origin (CORS) requests; empty turns CORS off.
    cors_origins: list[str] = msgspec.field(default_factory=list)

    # Compress responses larger than this many bytes with gzip; None turns compression off.
    gzip_min_size: int | None = None

    # Worker processes for ``cpu_bound=True`` handlers; 0 means one per CPU core.
    cpu_workers: int = 0

    # Ids of start-up checks to silence, e.g. ["security.W001"].
    silenced_checks: list[str] = msgspec.field(default_factory=list)


__all__ = ["Settings"]
