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

    # Connections each worker process keeps open to the database (PostgreSQL, SQLite files);
    # workers x hosts x this must stay under PostgreSQL's max_connections.
    database_pool_size: int = 10

    # Extra connections opened under load beyond database_pool_size, closed when returned.
    database_max_overflow: int = 0

    # Seconds a request waits for a free connection before answering 503 (Retry-After).
    database_pool_timeout: float = 10.0

    # Seconds to wait for a new connection (PostgreSQL) or for a lock (SQLite busy timeout).
    database_connect_timeout: float = 5.0

    # Log every SQL statement on the sqlalchemy.engine logger.
    database_echo: bool = False

    # Retry-After seconds sent with a 503 when the database is unreachable or busy.
    database_retry_after: int = 5

    # PostgreSQL: send BEGIN before the first statement that may write, not the first query,
    # so read-only requests skip two round trips (docs/topics/models.md).
    database_lazy_begin: bool = True

    # Redis for cross-process pub/sub, cache, sessions and rate limits; in-process when unset.
    redis_url: str | None = None

    # Largest request body accepted, in bytes; larger bodies get 413 without being read.
    max_body_size: int = 1_048_576

    # Where the OpenAPI document is served; None turns it off.
    openapi_url: str | None = "/openapi.json"

    # Title and version shown in the OpenAPI document.
    title: str = "Tidal"
    version: str = "0.1.0"

    # URL prefix serving the installed apps' static/ folders; None when they are served
    # elsewhere (a CDN, a web server after ``collectstatic``).
    static_url: str | None = "/static"

    # Log one structured line per request on the ``tidal.access`` logger.
    access_log: bool = True

    # Header carrying the request id in and out; a client-sent id is kept when it is safe.
    request_id_header: str = "x-request-id"

    # Origins allowed to make cross-origin (CORS) requests; empty turns CORS off.
    cors_origins: list[str] = msgspec.field(default_factory=list)

    # Compress responses larger than this many bytes with gzip; None turns compression off.
    gzip_min_size: int | None = None

    # Worker processes for ``cpu_bound=True`` handlers; 0 means one per CPU this process may
    # run on (its affinity) less one, left to the event loop, and at least one. The workers
    # run at a lower priority (nice 10), so the event loop wins a core they share.
    cpu_workers: int = 0

    # Ids of start-up checks to silence, e.g. ["security.W001"].
    silenced_checks: list[str] = msgspec.field(default_factory=list)

    # -- security --
    # Every protection here is on by default; docs/topics/security.md says what each one
    # defends against. Turning one off is logged at start-up on the ``tidal.security`` logger
    # and reported by ``tidal check --deploy``.

    # The site is served over HTTPS only (directly, or behind a proxy that terminates TLS).
    # Sends Strict-Transport-Security, marks the session cookie Secure, and makes the CSRF
    # and WebSocket origin checks expect https:// even when the proxy speaks plain HTTP.
    https: bool = False

    # HSTS max-age in seconds, sent when ``https`` is on; 0 turns HSTS off. Add
    # includeSubDomains / preload only when every subdomain serves HTTPS.
    hsts_seconds: int = 31_536_000
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False

    # Headers added to every response that has not set its own; None (false) turns one off.
    # The CSP's sha256 source admits the inline <style> of Tidal's error pages
    # (tidal.http.errors.html_page); tests/security/test_headers.py keeps it in sync.
    x_frame_options: str | None = "DENY"
    content_security_policy: str | None = (
        "default-src 'self'; script-src 'self'; "
        "style-src 'self' 'sha256-U9cchPFK8nUUyA9vnZr2tIKEhql24uiHIMBieEjacWQ='; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    content_type_nosniff: bool = True
    referrer_policy: str | None = "strict-origin-when-cross-origin"
    cross_origin_opener_policy: str | None = "same-origin"

    # Previous secret keys, newest first: still accepted when verifying signatures, never
    # used to sign, so rotating ``secret_key`` logs no one out. Remove them after a while.
    secret_key_fallbacks: list[str] = msgspec.field(default_factory=list)

    # Where sessions live: "auto" (the database when the "tidal.sessions" app is installed,
    # else Redis when ``redis_url`` is set, else process memory), "database", "redis" or
    # "memory". The cookie holds only a random id; the data stays on the server.
    session_store: str = "auto"
    session_cookie_name: str = "tidal_session"
    # Domain attribute of the cookie; None keeps it on the exact host (safest).
    session_cookie_domain: str | None = None
    # SameSite attribute: "lax" (default), "strict" or "none" (needs ``https``).
    session_cookie_samesite: str = "lax"
    # A session ends after this many seconds without a request that used it (idle), and
    # this many seconds after it began whatever the activity (absolute).
    session_idle_timeout: int = 1_209_600
    session_absolute_timeout: int = 2_592_000
    # Prefix of session keys in a shared store such as Redis.
    session_key_prefix: str = "tidal:session:"

    # CSRF protection of unsafe requests (POST, PUT, PATCH, DELETE) that carry the session
    # cookie, and of WebSocket handshakes. Origins (scheme://host[:port]) other than this
    # site's own allowed to post to it; "https://*.example.com" allows subdomains.
    csrf_enabled: bool = True
    csrf_trusted_origins: list[str] = msgspec.field(default_factory=list)

    # Rate limits declared with ``tidal.security.rate_limit`` and the login throttle; the
    # backend is "auto" (Redis when ``redis_url`` is set, else memory), "memory" or "redis".
    rate_limit_enabled: bool = True
    rate_limit_backend: str = "auto"
    rate_limit_key_prefix: str = "tidal:ratelimit:"

    # -- mail --
    # The SMTP server used when ``AuthConfig.mail_backend`` is "smtp" (docs/topics/auth.md).
    mail_host: str | None = None
    # None picks the usual port for ``mail_security``: 587 (starttls), 465 (tls), 25 (none).
    mail_port: int | None = None
    # Log in with these when a username is set (only over TLS unless ``mail_security`` is
    # "none"); keep the password in the environment, not in code.
    mail_username: str = ""
    mail_password: str = ""
    # "starttls" (upgrade a plain connection, port 587), "tls" (TLS from the start, port
    # 465) or "none" (plain text: only for a relay on the same host or network).
    mail_security: str = "starttls"
    # Seconds to wait for the server at each step before the message counts as not sent.
    mail_timeout: float = 10.0

    # -- templates, forms, static --
    # docs/topics/templates.md, forms.md and static.md describe these.

    # The template engine: "jinja2" (built in), or "package.module:factory" naming a callable
    # that takes the application and returns a ``tidal.templates.TemplateEngine``.
    template_engine: str = "jinja2"

    # Folder ``tidal collectstatic`` fills with every app's static files under content-hashed
    # names, their .gz variants and the manifest staticfiles.json. With it set and debug off,
    # static files are served from there (hashed names cached for a year as immutable) and
    # ``static()`` gives the hashed URLs. None (or debug) serves the apps' own folders.
    static_root: str | None = None

    # Where uploaded files are streamed during a request; None is the system's temporary
    # folder. An upload the handler did not save elsewhere is deleted after the request.
    upload_dir: str | None = None
    # Largest uploaded file in bytes, and most files in one request; more is refused with
    # 413 and nothing is left on disk. The whole body must also fit in ``max_body_size``.
    upload_max_file_size: int = 10_485_760
    upload_max_files: int = 20
    # Most fields in one form body, and the largest value of a non-file field in bytes.
    form_max_fields: int = 1000
    form_max_field_size: int = 65_536

    # -- realtime --
    # docs/topics/realtime.md describes these.

    # Path of the multiplexed channel WebSocket tidal.js connects to (served once a channel
    # is declared).
    realtime_path: str = "/_tidal/socket"
    # Origins besides the site's own allowed to open WebSockets, like
    # "https://app.example.com"; "*" allows any site (disables cross-site WebSocket
    # hijacking protection).
    realtime_allowed_origins: list[str] = msgspec.field(default_factory=list)
    # Events kept per topic so a reconnecting client catches up (Redis keeps at least this
    # many), and seconds a topic's history outlives its last event.
    realtime_history: int = 1000
    realtime_history_ttl: float = 86_400.0
    # Frames waiting to be written to one socket before that slow consumer is closed with
    # 1013 (bounds server memory per connection).
    realtime_send_queue: int = 1024
    # Largest incoming channel message in characters; larger closes with 1009. Also set the
    # server's frame limit (uvicorn --ws-max-size) near it.
    realtime_max_message: int = 65_536
    # Incoming messages per second per socket, and the burst allowed above that rate;
    # exceeding them closes with 1008.
    realtime_rate: float = 50.0
    realtime_burst: int = 100
    # Seconds a socket may stay silent (tidal.js heartbeats every 25 s) before it is closed.
    realtime_idle_timeout: float = 60.0
    # Seconds the presence entries of a worker that stopped heartbeating (crashed) remain.
    realtime_presence_ttl: float = 30.0
    # Prefix of every Redis key and channel the realtime layer uses.
    realtime_redis_prefix: str = "tidal:rt:"


__all__ = ["Settings"]
