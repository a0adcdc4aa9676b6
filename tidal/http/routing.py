"""Routes, route groups and the compiled route table.

Routes are declared on a ``Router`` (the app has a root one; groups are routers with a
prefix). At start-up the tree is flattened into a ``RouteTable``: a dict for paths with no
parameters, and one regex per parameterised path, so the request path is matched once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tidal.exceptions import ImproperlyConfigured, NoReverseMatch
from tidal.http.converters import Converter, get_converter
from tidal.http.signature import Signature
from tidal.types import ASGIApp, Handler

F = TypeVar("F", bound=Handler)
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class PathPattern:
    """A compiled path template like ``/boards/{board_id:int}``."""

    template: str
    regex: re.Pattern[str]
    converters: dict[str, Converter]

    @classmethod
    def parse(cls, template: str) -> PathPattern:
        if not template.startswith("/"):
            raise ImproperlyConfigured(f"Route path {template!r} must start with '/'.")
        converters: dict[str, Converter] = {}
        pattern = "^"
        position = 0
        for match in _PARAM.finditer(template):
            name, kind = match.group(1), match.group(2) or "str"
            if name in converters:
                raise ImproperlyConfigured(f"Path {template!r} repeats the parameter {name!r}.")
            converter = get_converter(kind, template)
            converters[name] = converter
            pattern += re.escape(template[position : match.start()])
            pattern += f"(?P<{name}>{converter.regex})"
            position = match.end()
        pattern += re.escape(template[position:]) + "$"
        return cls(template, re.compile(pattern), converters)

    @property
    def is_static(self) -> bool:
        return not self.converters

    def match(self, path: str) -> dict[str, Any] | None:
        found = self.regex.match(path)
        if found is None:
            return None
        try:
            return {
                name: self.converters[name].parse(value)
                for name, value in found.groupdict().items()
            }
        except ValueError:
            return None

    def format(self, params: dict[str, Any]) -> str:
        """Build a concrete path; every parameter must be given and match its converter."""
        missing = set(self.converters) - set(params)
        extra = set(params) - set(self.converters)
        if missing or extra:
            raise NoReverseMatch(
                f"Path {self.template!r} takes parameters {sorted(self.converters)}, "
                f"got {sorted(params)}."
            )

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            converter = self.converters[name]
            text = converter.render(params[name])
            if not re.fullmatch(converter.regex, text):
                raise NoReverseMatch(
                    f"Value {params[name]!r} for {name!r} does not fit {self.template!r}."
                )
            return text

        return _PARAM.sub(substitute, self.template)


@dataclass(eq=False)
class Route:
    """One HTTP or WebSocket endpoint as declared; ``compiled`` is set at start-up."""

    path: str
    handler: Handler
    methods: frozenset[str]
    name: str
    websocket: bool = False
    status_code: int | None = None
    cpu_bound: bool = False
    include_in_schema: bool = True
    summary: str | None = None
    tags: list[str] = field(default_factory=list)
    dependencies: list[Callable[..., Any]] = field(default_factory=list)
    pattern: PathPattern = field(init=False)
    endpoint: ASGIApp | None = field(default=None, init=False)
    signature: Signature | None = field(default=None, init=False)
    # Whether the handler can read the request scope (through a Request, a WebSocket or a
    # provider): one that cannot gets no session object made for it (``Tidal._dispatch``).
    reaches_scope: bool = field(default=True, init=False)
    # An ``async def`` with no parameters (the outer middleware may answer it directly).
    plain: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.pattern = PathPattern.parse(self.path)
        unknown = self.methods - HTTP_METHODS
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown HTTP method(s) {sorted(unknown)} for {self.path!r}."
            )


@dataclass(eq=False)
class Mount:
    """An ASGI application served below ``prefix`` (another Tidal app, static files, ...)."""

    prefix: str
    app: ASGIApp
    name: str | None = None


class MethodShortcuts:
    """``get``/``post``/``put``/``patch``/``delete`` over a class's ``route`` method, shared
    by ``Router`` and ``Tidal``."""

    route: Callable[..., Callable[[Any], Any]]

    def get(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, ("GET",), **options)

    def post(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, ("POST",), **options)

    def put(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, ("PUT",), **options)

    def patch(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, ("PATCH",), **options)

    def delete(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route(path, ("DELETE",), **options)


class Router(MethodShortcuts):
    """A group of routes sharing a path ``prefix``, a ``name`` namespace, tags and
    dependencies; include it with ``app.include(router)``.

    Args:
        prefix: prepended to every route path, e.g. ``"/api"``.
        name: namespace for route names: ``url_for("api:list_items")``.
        tags: OpenAPI tags added to every route.
        dependencies: providers run before every handler (e.g. an auth guard).
    """

    def __init__(
        self,
        prefix: str = "",
        *,
        name: str | None = None,
        tags: Sequence[str] = (),
        dependencies: Sequence[Callable[..., Any]] = (),
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ImproperlyConfigured(
                f"Router prefix {prefix!r} must start with '/' and not end with '/'."
            )
        self.prefix = prefix
        self.name = name
        self.tags = list(tags)
        self.dependencies = list(dependencies)
        self.routes: list[Route] = []
        self.mounts: list[Mount] = []
        self.children: list[Router] = []

    def route(
        self,
        path: str,
        methods: Iterable[str] = ("GET",),
        *,
        name: str | None = None,
        status_code: int | None = None,
        cpu_bound: bool = False,
        include_in_schema: bool = True,
        summary: str | None = None,
        tags: Sequence[str] = (),
        dependencies: Sequence[Callable[..., Any]] = (),
    ) -> Callable[[F], F]:
        """Register the decorated function for ``methods`` on ``path``.

        Args:
            path: a template like ``/items/{item_id:int}``.
            methods: HTTP methods; GET also answers HEAD.
            name: for ``url_for``; defaults to the function's name.
            status_code: the success status (default 200, or 204 when returning None).
            cpu_bound: run a sync handler in the process pool so it never stalls the loop.
            include_in_schema: list the route in the OpenAPI document.
            summary: OpenAPI summary; defaults to the docstring's first line.
            tags: OpenAPI tags.
            dependencies: providers run before the handler whose values are discarded.
        """

        def decorator(handler: F) -> F:
            self.routes.append(
                Route(
                    path,
                    handler,
                    frozenset(m.upper() for m in methods),
                    name or handler.__name__,
                    status_code=status_code,
                    cpu_bound=cpu_bound,
                    include_in_schema=include_in_schema,
                    summary=summary,
                    tags=list(tags),
                    dependencies=list(dependencies),
                )
            )
            return handler

        return decorator

    def websocket(
        self,
        path: str,
        *,
        name: str | None = None,
        dependencies: Sequence[Callable[..., Any]] = (),
    ) -> Callable[[F], F]:
        """Register a WebSocket endpoint; the handler takes a ``WebSocket`` parameter."""

        def decorator(handler: F) -> F:
            self.routes.append(
                Route(
                    path,
                    handler,
                    frozenset(),
                    name or handler.__name__,
                    websocket=True,
                    include_in_schema=False,
                    dependencies=list(dependencies),
                )
            )
            return handler

        return decorator

    def include(self, router: Router) -> None:
        """Add a group of routes below this router's prefix."""
        if router is self:
            raise ImproperlyConfigured("A router cannot include itself.")
        self.children.append(router)

    def mount(self, prefix: str, app: ASGIApp, *, name: str | None = None) -> None:
        """Serve another ASGI application below ``prefix`` (its paths see the rest)."""
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ImproperlyConfigured(
                f"Mount prefix {prefix!r} must start with '/' and not end with '/'."
            )
        self.mounts.append(Mount(prefix, app, name))

    def flatten(
        self,
        prefix: str = "",
        namespace: str = "",
        tags: Sequence[str] = (),
        dependencies: Sequence[Callable[..., Any]] = (),
    ) -> tuple[list[Route], list[Mount]]:
        """Every route and mount of this tree with prefixes, namespaces and shared options
        applied, as fresh ``Route`` objects (declarations stay untouched)."""
        prefix = prefix + self.prefix
        if self.name:
            namespace = f"{namespace}{self.name}:"
        tags = [*tags, *self.tags]
        dependencies = [*dependencies, *self.dependencies]
        routes = [
            Route(
                (prefix + r.path) if r.path != "/" or not prefix else prefix,
                r.handler,
                r.methods,
                namespace + r.name,
                websocket=r.websocket,
                status_code=r.status_code,
                cpu_bound=r.cpu_bound,
                include_in_schema=r.include_in_schema,
                summary=r.summary,
                tags=[*tags, *r.tags],
                dependencies=[*dependencies, *r.dependencies],
            )
            for r in self.routes
        ]
        mounts = [
            Mount(prefix + m.prefix, m.app, namespace + m.name if m.name else None)
            for m in self.mounts
        ]
        for child in self.children:
            child_routes, child_mounts = child.flatten(prefix, namespace, tags, dependencies)
            routes.extend(child_routes)
            mounts.extend(child_mounts)
        return routes, mounts


class Match:
    """What the table found for a path: the routes by method, and converted parameters."""

    __slots__ = ("by_method", "params", "websocket")

    def __init__(
        self, by_method: dict[str, Route], params: dict[str, Any], websocket: Route | None
    ) -> None:
        self.by_method = by_method
        self.params = params
        self.websocket = websocket


class RouteTable:
    """The flattened, frozen route tree: match a path in one dict lookup or one regex scan."""

    def __init__(self, routes: list[Route], mounts: list[Mount]) -> None:
        self.routes = routes
        self.mounts = sorted(mounts, key=lambda m: len(m.prefix), reverse=True)
        self.by_name: dict[str, Route] = {}
        # Paths without parameters, read directly by the dispatcher (one dict lookup).
        self.static: dict[str, Match] = {}
        self._dynamic: list[tuple[PathPattern, Match]] = []
        dynamic_by_template: dict[str, Match] = {}
        for route in routes:
            if route.name in self.by_name and self.by_name[route.name] is not route:
                other = self.by_name[route.name]
                if other.handler is not route.handler:
                    raise ImproperlyConfigured(
                        f"Two routes are named {route.name!r} ({other.path!r} and "
                        f"{route.path!r}); pass name=... to one of them."
                    )
            self.by_name.setdefault(route.name, route)
            pattern = route.pattern
            if pattern.is_static:
                match = self.static.setdefault(pattern.template, Match({}, {}, None))
            else:
                if pattern.template not in dynamic_by_template:
                    dynamic_by_template[pattern.template] = Match({}, {}, None)
                    self._dynamic.append((pattern, dynamic_by_template[pattern.template]))
                match = dynamic_by_template[pattern.template]
            if route.websocket:
                if match.websocket is not None:
                    raise ImproperlyConfigured(f"Two WebSocket routes for {route.path!r}.")
                match.websocket = route
                continue
            for method in route.methods:
                if method in match.by_method:
                    raise ImproperlyConfigured(
                        f"{method} {route.path!r} is declared twice "
                        f"({match.by_method[method].handler.__qualname__} and "
                        f"{route.handler.__qualname__})."
                    )
                match.by_method[method] = route
        for match in [*self.static.values(), *dynamic_by_template.values()]:
            if "GET" in match.by_method and "HEAD" not in match.by_method:
                match.by_method["HEAD"] = match.by_method["GET"]

    def match(self, path: str) -> Match | None:
        found = self.static.get(path)
        if found is not None:
            return found
        for pattern, match in self._dynamic:
            params = pattern.match(path)
            if params is not None:
                return Match(match.by_method, params, match.websocket)
        return None

    def find_mount(self, path: str) -> Mount | None:
        for mount in self.mounts:
            if path == mount.prefix or path.startswith(mount.prefix + "/"):
                return mount
        return None

    def url_path_for(self, name: str, /, **params: Any) -> str:
        """The path of the route called ``name`` with ``params`` filled in."""
        route = self.by_name.get(name)
        if route is not None:
            return route.pattern.format(params)
        mount_name, sep, rest = name.partition(":")
        for mount in self.mounts:
            if sep and mount.name == mount_name:
                table = getattr(mount.app, "route_table", None)
                if isinstance(table, RouteTable):
                    return mount.prefix + table.url_path_for(rest, **params)
            if mount.name == name and not params:
                return mount.prefix
            if mount.name == name and "path" in params:
                return mount.prefix + "/" + str(params["path"]).lstrip("/")
        raise NoReverseMatch(f"No route named {name!r}. Known names: {sorted(self.by_name)}")


__all__ = [
    "HTTP_METHODS",
    "Match",
    "MethodShortcuts",
    "Mount",
    "PathPattern",
    "Route",
    "RouteTable",
    "Router",
]
