"""``Tidal``: the ASGI application. It owns the settings, installed apps, routes,
middleware and lifespan, and compiles all of them once at start-up."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import multiprocessing
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, TypeVar

from starlette.datastructures import URLPath
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from tidal.apps import AppConfig, load_apps
from tidal.checks import CheckMessage, run_checks
from tidal.checks.registry import CheckFunction
from tidal.conf import Settings, load_settings
from tidal.db import install as install_database
from tidal.exceptions import ImproperlyConfigured, TidalError
from tidal.http import signature as sig
from tidal.http.endpoint import make_endpoint, make_websocket_endpoint
from tidal.http.errors import MethodNotAllowed, NotFound, send_error
from tidal.http.openapi import openapi_document
from tidal.http.responses import Response, encode_json
from tidal.http.routing import MethodShortcuts, Route, Router, RouteTable
from tidal.middleware import Middleware, ServerErrorMiddleware
from tidal.middleware.base import direct_call
from tidal.middleware.errors import PlainRoute
from tidal.realtime import Channel, Channels
from tidal.realtime import install as install_realtime
from tidal.security import install as install_protections
from tidal.security.headers import security_headers
from tidal.security.protections import compile_protections
from tidal.sessions.session import SCOPE_KEY as SESSION_KEY
from tidal.sessions.session import HttpSession
from tidal.types import ASGIApp, Handler, Receive, Scope, Send

logger = logging.getLogger("tidal")
# Parameters through which a handler can read the request scope (and so its session).
_SCOPE_SOURCES = frozenset({sig.REQUEST, sig.WEBSOCKET, sig.DEPENDENCY})
F = TypeVar("F", bound=Handler)
Hook = Callable[[], Any]
Lifespan = Callable[["Tidal"], contextlib.AbstractAsyncContextManager[Any]]


class Tidal(MethodShortcuts):
    """The application.

    Args:
        apps: dotted names of installed apps, in override order (first wins for templates
            and static files), e.g. ``["tidal.auth", "board"]``.
        settings: a ``Settings``, or a mapping of overrides on top of the environment;
            ``None`` reads everything from ``TIDAL_*`` variables, ``.env`` and the settings
            module.
        middleware: user middleware, innermost last; runs inside Tidal's own.
        on_startup: callables (sync or async) run in order at start-up.
        on_shutdown: callables run at shutdown, the last registered first (what started
            last stops first: the outbox relay before the database it reads).
        lifespan: an async context manager factory ``lifespan(app)`` wrapping the app's life.
        providers: ``{Type: factory}`` so handlers get ``Type`` parameters injected.
    """

    __tidal_app__ = True

    def __init__(
        self,
        *,
        apps: Sequence[str] = (),
        settings: Settings | Mapping[str, Any] | None = None,
        middleware: Sequence[Middleware] = (),
        on_startup: Iterable[Hook] = (),
        on_shutdown: Iterable[Hook] = (),
        lifespan: Lifespan | None = None,
        providers: Mapping[type, Callable[..., Any]] | None = None,
    ) -> None:
        self.settings = settings if isinstance(settings, Settings) else load_settings(settings)
        self.router = Router()
        self.user_middleware = list(middleware)
        self.startup_hooks = list(on_startup)
        self.shutdown_hooks = list(on_shutdown)
        self.lifespan_context = lifespan
        self.providers: dict[type, Callable[..., Any]] = dict(providers or {})
        self.checks: list[CheckFunction] = []
        self.state: dict[str, Any] = {}
        self._table: RouteTable | None = None
        self._stack: ASGIApp | None = None
        self._entry: ASGIApp | None = None  # _stack, as the cheapest callable to call
        # Set when the router attaches sessions itself (see ``_build_stack``).
        self._new_session: Callable[[Scope], HttpSession] | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._exit_stack: contextlib.AsyncExitStack | None = None
        install_protections(self)  # HttpSession / CsrfToken providers, before routes compile
        install_database(self)  # `db: Session` parameters; engine created only if used
        # Before the apps load, so their ready() hooks can declare channels.
        self.channels: Channels = install_realtime(self)
        self.apps: list[AppConfig] = load_apps(list(apps))
        for config in self.apps:
            config.models_module  # noqa: B018  (imported for its model declarations)
            router = config.router
            if router is not None:
                self.router.include(router)
        for config in self.apps:
            config.ready(self)
        from tidal.templates import install as install_templates

        install_templates(self)  # the apps' static/ at /static/, templates built at start-up

    # -- declaring -------------------------------------------------------------------

    def _check_not_built(self, what: str) -> None:
        if self._table is not None:
            raise ImproperlyConfigured(
                f"Cannot {what} after the application has started; do it at import time."
            )

    def route(
        self, path: str, methods: Iterable[str] = ("GET",), **options: Any
    ) -> Callable[[F], F]:
        """Register a handler; see ``Router.route`` for the options."""
        self._check_not_built("add routes")
        return self.router.route(path, methods, **options)

    def websocket(self, path: str, **options: Any) -> Callable[[F], F]:
        self._check_not_built("add routes")
        return self.router.websocket(path, **options)

    def channel(self, pattern: str, *, presence: bool = False) -> Callable[[Handler], Channel]:
        """Declare a real-time channel such as ``"board:{board_id}"``; decorates its join
        handler (see docs/topics/realtime.md)."""
        return self.channels.channel(pattern, presence=presence)

    def include(self, router: Router) -> None:
        """Add a route group (a ``Router``) to the application."""
        self._check_not_built("include routers")
        self.router.include(router)

    def mount(self, prefix: str, app: ASGIApp, *, name: str | None = None) -> None:
        """Serve another ASGI app (or Tidal app) below ``prefix``."""
        self._check_not_built("mount apps")
        self.router.mount(prefix, app, name=name)

    def add_middleware(self, factory: Callable[..., ASGIApp], /, **options: Any) -> None:
        self._check_not_built("add middleware")
        self.user_middleware.append(Middleware(factory, **options))

    def provide(self, type_: type, provider: Callable[..., Any]) -> None:
        """Inject ``provider()``'s value into every handler parameter annotated ``type_``."""
        self._check_not_built("add providers")
        self.providers[type_] = provider

    def on_startup(self, hook: Hook) -> Hook:
        self.startup_hooks.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        self.shutdown_hooks.append(hook)
        return hook

    def check(self, function: CheckFunction) -> CheckFunction:
        """Register a start-up check for this application."""
        self.checks.append(function)
        return function

    # -- building --------------------------------------------------------------------

    def run_checks(self, *, deploy: bool = False) -> list[CheckMessage]:
        return run_checks(self, deploy=deploy)

    @property
    def built(self) -> bool:
        """Whether routes and middleware are compiled (settings are read then)."""
        return self._table is not None

    @property
    def route_table(self) -> RouteTable:
        """The compiled routes; compiling on first use raises any declaration error."""
        if self._table is None:
            self.build()
        assert self._table is not None
        return self._table

    def build(self) -> None:
        """Run the checks and compile routes and middleware. Idempotent."""
        if self._table is not None:
            return
        messages = self.run_checks()
        errors = [m for m in messages if m.is_serious]
        for message in messages:
            if not message.is_serious:
                logger.warning("%s", message)
        if errors:
            listing = "\n".join(str(m) for m in errors)
            raise ImproperlyConfigured(
                f"Start-up checks failed:\n{listing}\n(run `tidal check` to see them alone)"
            )
        routes, mounts = self.router.flatten()
        url = self.settings.openapi_url
        if url and not any(r.path == url and not r.websocket for r in routes):
            routes.append(self._openapi_route(url))
        for route in routes:
            self._compile(route)
        self._table = RouteTable(routes, mounts)
        self._stack = self._build_stack()
        self._entry = direct_call(self._stack)

    def _compile(self, route: Route) -> None:
        path_params = {n: c.type for n, c in route.pattern.converters.items()}
        body_allowed = bool(route.methods & {"POST", "PUT", "PATCH"})
        signature = sig.compile_signature(
            route.handler,
            path_params=path_params,
            providers=self.providers,
            body_allowed=body_allowed,
            websocket=route.websocket,
        )
        if route.dependencies:
            guards = [
                sig.Parameter(
                    f"<guard {i}>",
                    sig.DEPENDENCY,
                    "",
                    None,
                    discard=True,
                    dependency=sig.compile_signature(
                        guard,
                        path_params=path_params,
                        providers=self.providers,
                        websocket=route.websocket,
                        _stack=(route.handler,),
                    ),
                )
                for i, guard in enumerate(route.dependencies)
            ]
            signature.parameters[:0] = guards
        if route.cpu_bound:
            where = route.handler.__qualname__
            if signature.is_async or signature.is_async_generator:
                raise ImproperlyConfigured(
                    f"{where}: cpu_bound=True needs a plain `def` handler (it runs in another "
                    "process); drop `async`."
                )
            unpicklable = [
                p.name for p in signature.parameters if p.source in (sig.REQUEST, sig.APP)
            ]
            if unpicklable or "<locals>" in route.handler.__qualname__:
                raise ImproperlyConfigured(
                    f"{where}: cpu_bound handlers must be module-level functions taking plain "
                    f"values (not {unpicklable or 'a closure'}), since they run in a worker "
                    "process."
                )
        route.signature = signature
        route.reaches_scope = route.websocket or any(
            p.source in _SCOPE_SOURCES for p in signature.parameters
        )
        route.plain = (
            not route.websocket
            and not signature.parameters
            and signature.is_async
            and not route.cpu_bound
        )
        if route.websocket:
            route.endpoint = make_websocket_endpoint(self, route, signature)
        else:
            route.endpoint = make_endpoint(self, route, signature)

    def _openapi_route(self, url: str) -> Route:
        """GET ``url`` serves the OpenAPI document, generated on first request and cached;
        named ``tidal:openapi`` so it never clashes with a project's own names."""
        cached: list[bytes] = []

        async def openapi() -> Response:
            if not cached:
                cached.append(encode_json(openapi_document(self)))
            return Response(cached[0], media_type="application/json")

        return Route(url, openapi, frozenset({"GET"}), "tidal:openapi", include_in_schema=False)

    def _build_stack(self) -> ASGIApp:
        settings = self.settings
        app: ASGIApp = self._dispatch
        for spec in reversed(self.user_middleware):
            app = spec.build(app)
        if settings.gzip_min_size is not None:
            app = GZipMiddleware(app, minimum_size=settings.gzip_min_size)
        protections = compile_protections(self, app)  # hosts -> sessions -> csrf
        # With no user middleware (which may read the session) between the outer
        # middleware and the router, the router attaches the session to safe requests,
        # and only where a handler can reach it (``attach_session``).
        lazy = not self.user_middleware
        self._new_session = protections.sessions.new_session if lazy else None
        # The outer middleware runs the protections inline for HTTP requests, and answers
        # GET/HEAD to plain routes itself when nothing runs between it and the router.
        app = ServerErrorMiddleware(
            protections.chain,
            debug=settings.debug,
            header=settings.request_id_header,
            access_log=settings.access_log,
            headers=security_headers(settings),
            protections=protections,
            lazy_sessions=lazy,
            plain_routes=self._plain_routes() if app == self._dispatch else None,
        )
        if settings.cors_origins:
            # Outside the error handler, so a browser on another origin can read 4xx/5xx too.
            app = CORSMiddleware(
                app,
                allow_origins=settings.cors_origins,
                allow_methods=["*"],
                allow_headers=["*"],
                allow_credentials="*" not in settings.cors_origins,
            )
        return app

    def _plain_routes(self) -> dict[str, PlainRoute]:
        """Static paths whose GET (and HEAD) handler is an ``async def`` with no
        parameters: the outer middleware answers those itself."""
        assert self._table is not None
        found = {}
        for path, match in self._table.static.items():
            route = match.by_method.get("GET")
            if route is None or match.by_method.get("HEAD") is not route or not route.plain:
                continue
            handler = route.handler
            found[path] = PlainRoute(handler, route.status_code, self._prepare_plain)
        return found

    def _prepare_plain(self, scope: Scope) -> None:
        """What ``_dispatch`` and the endpoint would have put in a plain route's scope
        before the ``Response`` its handler returned runs."""
        scope["tidal.app"] = self
        scope["router"] = self
        scope["path_params"] = {}
        self.attach_session(scope)

    # -- serving ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self._entry
        if entry is None or scope["type"] == "lifespan":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
                return
            self.build()
            entry = self._entry
            assert entry is not None
        await entry(scope, receive, send)

    def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Find the endpoint for the path and method; 404/405 otherwise. Returns what to
        await (the endpoint's coroutine) instead of awaiting it: one frame less per
        request, and ``await app(...)`` works the same for the caller."""
        table = self._table
        assert table is not None
        scope["tidal.app"] = self
        scope["router"] = self
        path = scope["path"]
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :] or "/"
        match = table.static.get(path) or table.match(path)
        if match is not None:
            scope["path_params"] = match.params
            if scope["type"] == "websocket":
                if match.websocket is not None:
                    assert match.websocket.endpoint is not None
                    return match.websocket.endpoint(scope, receive, send)
            else:
                route = match.by_method.get(scope["method"])
                if route is not None:
                    endpoint = route.endpoint
                    assert endpoint is not None
                    if route.reaches_scope and self._new_session is not None:
                        self.attach_session(scope)
                    return endpoint(scope, receive, send)
                if match.by_method:
                    return send_error(scope, send, MethodNotAllowed(list(match.by_method)))
        mount = table.find_mount(path)
        if mount is not None:
            scope["root_path"] = root_path + mount.prefix
            self.attach_session(scope)
            return mount.app(scope, receive, send)
        if scope["type"] == "websocket":
            return send({"type": "websocket.close", "code": 1008, "reason": "No such endpoint"})
        return send_error(
            scope,
            send,
            NotFound(f"No page or endpoint at {scope['path']!r}. Run `tidal routes` to list them."),
        )

    def attach_session(self, scope: Scope) -> None:
        """Give an HTTP request its (lazy) ``HttpSession`` if the router is the one to and
        it has none yet: called for the routes whose handler can reach the scope, for
        mounted apps, and before a handler's own ``Response`` runs."""
        if self._new_session is not None and SESSION_KEY not in scope:
            scope[SESSION_KEY] = self._new_session(scope)

    def url_path_for(self, name: str, /, **params: Any) -> URLPath:
        """The path of route ``name`` (``"api:show_item"`` in a named group)."""
        return URLPath(self.route_table.url_path_for(name, **params))

    url_for = url_path_for

    # -- lifespan --------------------------------------------------------------------

    def process_pool(self) -> Executor:
        """The worker processes for ``cpu_bound`` handlers, started on first use."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.settings.cpu_workers or default_cpu_workers(),
                mp_context=multiprocessing.get_context("spawn"),
                initializer=lower_priority,
            )
        return self._pool

    async def startup(self) -> None:
        """Compile everything, start mounted Tidal apps, run hooks and the lifespan."""
        self.build()
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        self._exit_stack = stack
        try:
            for mount in self.route_table.mounts:
                if isinstance(mount.app, Tidal):
                    await mount.app.startup()
                    stack.push_async_callback(mount.app.shutdown)
            if any(r.cpu_bound for r in self.route_table.routes):
                pool = self.process_pool()
                await asyncio.get_running_loop().run_in_executor(pool, os.getpid)
            for hook in self.startup_hooks:
                await _call_hook(hook)
            if self.lifespan_context is not None:
                await stack.enter_async_context(self.lifespan_context(self))
        except BaseException:
            await self.shutdown()
            raise

    async def shutdown(self) -> None:
        try:
            for hook in reversed(self.shutdown_hooks):
                await _call_hook(hook)
        finally:
            stack, self._exit_stack = self._exit_stack, None
            if stack is not None:
                await stack.aclose()
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Tidal]:
        """Start up and shut down around a block (tests, scripts, the shell)."""
        await self.startup()
        try:
            yield self
        finally:
            await self.shutdown()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        try:
            await self.startup()
        except BaseException as exc:
            if isinstance(exc, TidalError):  # says what to fix; a traceback adds nothing
                logger.error("Start-up failed: %s", exc)
            else:
                logger.exception("Start-up failed")
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        try:
            await self.shutdown()
        except BaseException as exc:
            logger.exception("Shutdown failed")
            await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})


def default_cpu_workers() -> int:
    """One worker per CPU this process may run on, less one left to the event loop; at
    least one. The affinity, not the machine: a server pinned to one core (``taskset``,
    a container's cpuset) that started a worker per machine core had its loop compete
    with all of them for that core."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity call
        cpus = os.cpu_count() or 1
    return max(1, cpus - 1)


def lower_priority() -> None:
    """Run in each ``cpu_bound`` worker: ``nice`` it, so that when it shares a core with
    the event loop the loop gets the core first. The loop's work is short and answers
    every other request; the worker's is long and waits no more than it would queue."""
    with contextlib.suppress(OSError):  # not allowed here: run at the same priority
        os.nice(10)


async def _call_hook(hook: Hook) -> None:
    result = hook()
    if inspect.isawaitable(result):
        await result


__all__ = ["Tidal"]
