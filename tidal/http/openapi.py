"""The OpenAPI 3.1 document, generated from the compiled routes and their msgspec types.

It is built once, on the first request for it (the app caches the encoded bytes). Every
type the routes mention is handed to msgspec in a single ``schema_components`` call, so
each struct gets one name in ``components.schemas`` however many operations use it.

What is read from where:

* path, summary, description, tags and operation id: the route and its handler's docstring;
* parameters: the compiled signature, dependencies included (``Signature.all_parameters``);
* request body: the body parameter's annotation and media type;
* responses: the return annotation and status, plus ``422`` when input is validated and a
  ``default`` error, both ``application/problem+json`` bodies described by ``Problem``;
* security: the ``Security`` markers (``openapi_security``) of the handler and of every
  dependency and guard it runs, combined per operation; the schemes they name come from
  installed apps (``SecuritySchemeProvider``) and from the markers themselves.

The core knows no authentication scheme: ``tidal.auth`` marks its guards and its ``User``
provider with ``security(...)`` and declares its schemes from its ``AppConfig``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, get_args, get_origin, runtime_checkable

import msgspec
from starlette.responses import Response

from tidal.http import signature as sig
from tidal.http.errors import _Problem

if TYPE_CHECKING:
    from tidal.app import Tidal
    from tidal.http.routing import Route

logger = logging.getLogger("tidal.openapi")

F = TypeVar("F", bound=Callable[..., Any])

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{name}"
PROBLEM_JSON = "application/problem+json"

# Path item keys in the order the specification lists them.
_METHOD_ORDER = ("get", "put", "post", "delete", "options", "head", "patch")
_TEMPLATE_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-zA-Z_][a-zA-Z0-9_]*)?}")
_WIRE_SOURCES = (sig.PATH, sig.QUERY, sig.HEADER, sig.COOKIE)
# Converter regexes that say nothing beyond "a string" (the ``str`` and ``path`` converters).
_PLAIN_REGEXES = frozenset({r"[^/]+", ".*"})


class Problem(_Problem):
    """An error, as RFC 9457 problem details.

    For invalid input, errors lists each field: where it was (in), which field (path) and
    what is wrong (message).
    """


_VALIDATION_FAILED = "Validation failed: the input has missing fields, wrong types or bad values."


class _Schemas:
    """Types waiting for their JSON schema, and where each schema goes once computed.

    Each distinct type is sent to msgspec once: most operations repeat ``int``, ``str``
    and the same few structs, so this keeps the single ``schema_components`` call small.
    """

    def __init__(self) -> None:
        self.types: list[Any] = []
        self.index: dict[Any, int] = {}
        self.slots: list[tuple[dict[str, Any], str, int, dict[str, Any]]] = []

    def put(self, target: dict[str, Any], key: str, annotation: Any, **extra: Any) -> None:
        """Set ``target[key]`` to ``annotation``'s schema (merged with ``extra``) later."""
        try:
            position = self.index.get(annotation)
        except TypeError:  # an unhashable annotation: it gets a place of its own
            position = None
        if position is None:
            position = len(self.types)
            self.types.append(annotation)
            with contextlib.suppress(TypeError):
                self.index[annotation] = position
        self.slots.append((target, key, position, extra))

    def resolve(self) -> dict[str, Any]:
        """Fill every slot; return the shared component schemas."""
        schemas, components = _schema_components(self.types)
        for target, key, position, extra in self.slots:
            schema = schemas[position]
            target[key] = {**schema, **extra} if extra else schema
        for component in components.values():
            # msgspec copies docstrings verbatim, indentation included.
            if "description" in component:
                component["description"] = inspect.cleandoc(component["description"])
        return components


def _schema_components(
    annotations: list[Any],
) -> tuple[tuple[dict[str, Any], ...], dict[str, Any]]:
    try:
        return msgspec.json.schema_components(annotations, ref_template=REF_TEMPLATE)
    except (TypeError, ValueError):
        pass
    # Rare path: find the types msgspec cannot describe and document them as "any value".
    usable: list[Any] = []
    for annotation in annotations:
        try:
            msgspec.json.schema(annotation)
        except (TypeError, ValueError) as exc:
            logger.warning(
                "OpenAPI: no JSON schema for %r (%s); it is documented as any value. Use a "
                "msgspec-supported type, or annotate it with msgspec.Meta(extra_json_schema=...).",
                annotation,
                str(exc).splitlines()[-1],
            )
            annotation = Any
        usable.append(annotation)
    return msgspec.json.schema_components(usable, ref_template=REF_TEMPLATE)


def _without_none(annotation: Any) -> Any:
    """``T | None`` -> ``T``: a query string, header or cookie never carries a null."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_response(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Response)


def openapi_path(template: str) -> str:
    """``/items/{item_id:int}`` -> ``/items/{item_id}``."""
    return _TEMPLATE_PARAM.sub(r"{\1}", template)


def _docs(route: Route) -> tuple[str | None, str | None]:
    """Summary and description: the docstring's first paragraph and the rest, or the
    route's ``summary`` and the whole docstring."""
    doc = inspect.getdoc(route.handler) or ""
    if route.summary:
        return route.summary, doc or None
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()) or None, rest.strip() or None


def _default(parameter: sig.Parameter) -> dict[str, Any]:
    if parameter.required or parameter.default is None:
        return {}
    try:
        return {"default": msgspec.to_builtins(parameter.default)}
    except (TypeError, ValueError):
        return {}


def _parameters(route: Route, wire: list[sig.Parameter], schemas: _Schemas) -> list[dict[str, Any]]:
    converters = route.pattern.converters
    by_key = {p.key: p for p in wire if p.source == sig.PATH}
    result: list[dict[str, Any]] = []
    # Path parameters in template order, then the rest in signature order.
    for name, converter in converters.items():
        entry: dict[str, Any] = {"name": name, "in": "path", "required": True}
        parameter = by_key.get(name)
        annotation = converter.type if parameter is None else parameter.annotation
        extra: dict[str, Any] = {}
        if annotation is converter.type:
            if converter.type is str and converter.regex not in _PLAIN_REGEXES:
                extra["pattern"] = f"^{converter.regex}$"
            elif converter.type in (int, float):
                extra["minimum"] = 0  # the converters match unsigned numbers only
        if parameter is not None and parameter.description:
            entry["description"] = parameter.description
        schemas.put(entry, "schema", _without_none(annotation), **extra)
        result.append(entry)
    for parameter in wire:
        if parameter.source == sig.PATH:
            continue
        if parameter.whole:
            result.extend(_struct_query(parameter, schemas))
            continue
        entry = {"name": parameter.key, "in": parameter.source, "required": parameter.required}
        if parameter.description:
            entry["description"] = parameter.description
        if parameter.multi and parameter.source == sig.QUERY:
            entry["style"] = "form"
            entry["explode"] = True
        schemas.put(entry, "schema", _without_none(parameter.annotation), **_default(parameter))
        result.append(entry)
    return result


def _struct_query(parameter: sig.Parameter, schemas: _Schemas) -> list[dict[str, Any]]:
    """A Struct filled from the query string is documented as one parameter per field."""
    target = sig._strip_optional(parameter.annotation)
    result: list[dict[str, Any]] = []
    for field in msgspec.structs.fields(target):
        entry: dict[str, Any] = {
            "name": field.encode_name,
            "in": "query",
            "required": field.required and parameter.required,
        }
        if sig.is_scalar_sequence(field.type):
            entry["style"] = "form"
            entry["explode"] = True
        extra: dict[str, Any] = {}
        if not field.required and field.default is not msgspec.NODEFAULT:
            with contextlib.suppress(TypeError, ValueError):
                extra["default"] = msgspec.to_builtins(field.default)
        schemas.put(entry, "schema", _without_none(field.type), **extra)
        result.append(entry)
    return result


def _request_body(parameter: sig.Parameter, schemas: _Schemas) -> dict[str, Any]:
    # Mirrors tidal.http.endpoint: JSON media types (application/json, application/*+json)
    # are decoded into the annotation; others hand over text (str) or raw bytes.
    annotation = parameter.annotation
    media_type = parameter.media_type
    media: dict[str, Any] = {}
    if sig.is_json_media(media_type):
        schemas.put(media, "schema", annotation)
    elif sig._strip_optional(annotation) is str:
        media["schema"] = {"type": "string"}
    body: dict[str, Any] = {"content": {media_type: media}, "required": parameter.required}
    if parameter.description:
        body["description"] = parameter.description
    return body


def _success(route: Route, returns: Any, schemas: _Schemas) -> tuple[str, dict[str, Any]]:
    returns_none = returns is None or returns is type(None)
    status = route.status_code or (204 if returns_none else 200)
    response: dict[str, Any] = {"description": _phrase(status)}
    if returns is sig.EMPTY or returns_none:
        return str(status), response
    if get_origin(returns) in (typing.Union, types.UnionType):
        # ``Item | RedirectResponse``: the Response members pass through undescribed.
        kept = [a for a in get_args(returns) if not _is_response(a)]
        if not kept:
            return str(status), response
        returns = typing.Union[tuple(kept)] if len(kept) > 1 else kept[0]  # noqa: UP007
    if _is_response(returns):
        media_type = getattr(returns, "media_type", None)
        if media_type:
            response["content"] = {media_type: {}}
    elif returns is str:
        response["content"] = {"text/plain": {"schema": {"type": "string"}}}
    elif returns is bytes:
        response["content"] = {"application/octet-stream": {}}
    else:
        media: dict[str, Any] = {}
        schemas.put(media, "schema", returns)
        response["content"] = {"application/json": media}
    return str(status), response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Response"


def _validates(parameter: sig.Parameter) -> bool:
    """Whether ``parameter`` can make the request fail with 422."""
    if parameter.source == sig.BODY:
        return parameter.required or sig.is_json_media(parameter.media_type)
    if parameter.source == sig.PATH:
        return parameter.convert
    return parameter.required or parameter.convert


def _operation(
    route: Route,
    schemas: _Schemas,
    errors: dict[str, dict[str, Any]],
    problem: dict[str, Any],
    markers: list[Security],
) -> dict[str, Any]:
    signature = route.signature
    assert signature is not None, "routes are compiled before documenting"
    everything = signature.all_parameters()
    wire = [p for p in everything if p.source in _WIRE_SOURCES]
    body = next((p for p in everything if p.source == sig.BODY), None)
    operation: dict[str, Any] = {}
    summary, description = _docs(route)
    if summary:
        operation["summary"] = summary
    if description:
        operation["description"] = description
    if route.tags:
        operation["tags"] = list(dict.fromkeys(route.tags))
    parameters = _parameters(route, wire, schemas)
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = _request_body(body, schemas)
    status, success = _success(route, signature.return_annotation, schemas)
    responses: dict[str, Any] = {status: success}
    if markers:
        operation["security"], denied = _security(markers, problem)
        for key, response in denied.items():
            responses.setdefault(key, response)
    if any(_validates(p) for p in (*wire, *([body] if body else []))):
        responses.setdefault("422", errors["422"])
    responses["default"] = errors["default"]
    operation["responses"] = responses
    return operation


# -- security ----------------------------------------------------------------------------

SecurityRequirement = Mapping[str, Sequence[str]]
"""One way to authenticate: security scheme names, each with the scopes it needs (``[]``
for schemes without scopes). A client satisfies it by presenting all of them."""

SECURITY_ATTRIBUTE = "openapi_security"


@dataclasses.dataclass(frozen=True, eq=False)
class Security:
    """What a guard, provider or handler tells the document about authentication; found
    on it as ``openapi_security`` (set by ``security(...)``).

    Attributes:
        requirements: the alternatives, any one of which lets the request in. ``{}`` among
            them means anonymous requests are let in too.
        responses: the error statuses it answers with (401, 403, ...) and their
            descriptions, documented as ``application/problem+json`` bodies.
        schemes: security schemes to declare in ``components.securitySchemes`` by name, for
            schemes no installed app declares.
    """

    requirements: tuple[dict[str, tuple[str, ...]], ...]
    responses: dict[int, str] = dataclasses.field(default_factory=dict)
    schemes: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


def security(
    *requirements: SecurityRequirement,
    responses: Mapping[int, str] | None = None,
    schemes: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[F], F]:
    """Decorator: document what a guard, a provider or a handler requires of clients.

    Every operation whose handler, dependencies or guards carry a marker lists its
    requirements under ``security`` and its ``responses``. When one operation has several
    markers, all of them apply: ``security({"a": []}, {"b": []})`` and ``security({"a":
    []})`` together give ``[{"a": []}]``.

    Args:
        requirements: alternative security requirements, e.g. ``{"bearerAuth": []}``;
            any one of them suffices. At least one.
        responses: error statuses the callable may answer with, and their descriptions.
        schemes: scheme definitions (OpenAPI Security Scheme objects) to declare, e.g.
            ``{"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}``. A
            scheme an installed app declares under the same name wins.

    .. versionadded:: 0.1
    """
    if not requirements:
        raise TypeError(
            "security() needs at least one requirement, e.g. security({'bearerAuth': []}); "
            "add {} to say that anonymous requests are let in too."
        )
    marker = Security(
        tuple(_requirement(r) for r in requirements),
        {_status(status): str(text) for status, text in (responses or {}).items()},
        {str(name): dict(scheme) for name, scheme in (schemes or {}).items()},
    )

    def mark(func: F) -> F:
        try:
            setattr(func, SECURITY_ATTRIBUTE, marker)
        except AttributeError:
            raise TypeError(
                f"security(...) cannot mark {func!r}: decorate a function or a class, or give "
                f"the object an `{SECURITY_ATTRIBUTE}` attribute holding a Security."
            ) from None
        return func

    return mark


def _requirement(requirement: SecurityRequirement) -> dict[str, tuple[str, ...]]:
    if not isinstance(requirement, Mapping):
        raise TypeError(
            f"security(): {requirement!r} is not a requirement; give a mapping of scheme "
            "names to scopes, e.g. {'bearerAuth': []}."
        )
    result: dict[str, tuple[str, ...]] = {}
    for name, scopes in requirement.items():
        if not isinstance(name, str) or isinstance(scopes, str) or not isinstance(scopes, Sequence):
            raise TypeError(
                f"security(): {name!r}: {scopes!r} should be a scheme name and a list of "
                "scopes, e.g. {'bearerAuth': []}."
            )
        result[name] = tuple(str(scope) for scope in scopes)
    return result


def _status(status: int) -> int:
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError(f"security(): responses takes error statuses (400-599), not {status!r}.")
    return status


@runtime_checkable
class SecuritySchemeProvider(Protocol):
    """An installed app's ``AppConfig`` that declares security schemes in the document,
    whether or not a route uses them (``tidal.auth``'s ``AuthApp`` is one)."""

    def openapi_security_schemes(self, app: Tidal) -> Mapping[str, Mapping[str, Any]]:
        """Security Scheme objects by name (``{"bearerAuth": {"type": "http", ...}}``)."""
        ...


def _markers(signature: sig.Signature) -> list[Security]:
    """The ``Security`` of the handler and of every dependency and guard it runs."""
    found: list[Security] = []
    seen: set[int] = set()

    def walk(signature: sig.Signature) -> None:
        if id(signature.func) in seen:
            return
        seen.add(id(signature.func))
        marker = getattr(signature.func, SECURITY_ATTRIBUTE, None)
        if isinstance(marker, Security) and marker not in found:
            found.append(marker)
        for parameter in signature.parameters:
            if parameter.dependency is not None:
                walk(parameter.dependency)

    walk(signature)
    return found


_Requirement = dict[str, frozenset[str]]


def _all_of(markers: list[Security]) -> list[_Requirement]:
    """The alternatives that satisfy every marker at once: each marker's alternatives
    combined with the others' (scopes merged), keeping only the weakest. So two markers
    asking for ``bearer or cookie`` ask for ``bearer or cookie``, not ``bearer and
    cookie`` too."""
    combined: list[_Requirement] = [{}]
    for marker in markers:
        product: list[_Requirement] = []
        for have in combined:
            for alternative in marker.requirements:
                merged = dict(have)
                for scheme, scopes in alternative.items():
                    merged[scheme] = merged.get(scheme, frozenset()) | frozenset(scopes)
                if merged not in product:
                    product.append(merged)
        # An alternative asking for more than another non-anonymous one is never needed;
        # ``{}`` (anonymous allowed) is kept beside the others as documentation.
        combined = [
            requirement
            for requirement in product
            if not any(
                other and other != requirement and _within(other, requirement) for other in product
            )
        ]
    return combined


def _within(smaller: _Requirement, larger: _Requirement) -> bool:
    return all(scheme in larger and smaller[scheme] <= larger[scheme] for scheme in smaller)


def _security(
    markers: list[Security], problem: dict[str, Any]
) -> tuple[list[dict[str, list[str]]], dict[str, Any]]:
    """The operation's ``security`` and the error responses its markers add."""
    requirements = [
        {scheme: sorted(scopes) for scheme, scopes in requirement.items()}
        for requirement in _all_of(markers)
    ]
    statuses: dict[int, str] = {}
    for marker in markers:
        for status, text in marker.responses.items():
            statuses.setdefault(status, text)
    responses = {
        str(status): {"description": statuses[status], "content": {PROBLEM_JSON: problem}}
        for status in sorted(statuses)
    }
    return requirements, responses


def _security_schemes(app: Tidal, markers: Iterable[Security]) -> dict[str, Any]:
    """The installed apps' schemes (first app first), then those only markers declare."""
    schemes: dict[str, Any] = {}
    for config in app.apps:
        if isinstance(config, SecuritySchemeProvider):
            for name, scheme in config.openapi_security_schemes(app).items():
                schemes.setdefault(name, dict(scheme))
    for marker in markers:
        for name, scheme in marker.schemes.items():
            schemes.setdefault(name, dict(scheme))
    return schemes


def _drop_undeclared(operations: Iterable[dict[str, Any]], schemes: Mapping[str, Any]) -> None:
    """Requirements naming a scheme nobody declared would make the document invalid: they
    are left out, with a warning naming the scheme."""
    missing: set[str] = set()
    for operation in operations:
        requirements = operation.get("security")
        if not requirements:
            continue
        kept = [r for r in requirements if all(name in schemes for name in r)]
        missing.update(name for r in requirements for name in r if name not in schemes)
        if kept:
            operation["security"] = kept
        else:
            del operation["security"]
    for name in sorted(missing):
        logger.warning(
            "OpenAPI: the security scheme %r is required by a route but declared nowhere; it "
            "is left out of the document. Declare it with security(..., schemes={%r: {...}}) "
            "or from an installed app's openapi_security_schemes().",
            name,
            name,
        )


def _documented(routes: Iterable[Route]) -> list[Route]:
    return [r for r in routes if r.include_in_schema and not r.websocket and r.signature]


def openapi_document(app: Tidal) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing ``app``'s HTTP routes.

    Routes with ``include_in_schema=False``, WebSocket routes and mounted applications are
    left out; HEAD is implied by GET and not listed on its own.
    """
    schemas = _Schemas()
    # Problem's component name comes from msgspec: it differs if an app has its own Problem.
    problem: dict[str, Any] = {}
    schemas.put(problem, "schema", Problem)
    errors = {
        "422": {"description": _VALIDATION_FAILED, "content": {PROBLEM_JSON: problem}},
        "default": {"description": "Error", "content": {PROBLEM_JSON: problem}},
    }
    paths: dict[str, dict[str, Any]] = {}
    named: list[tuple[dict[str, Any], str, str, int]] = []  # operation, name, method, count
    used: list[Security] = []
    for route in _documented(app.route_table.routes):
        item = paths.setdefault(openapi_path(route.path), {})
        methods = [m for m in _METHOD_ORDER if m.upper() in route.methods]
        if "get" in methods and "head" in methods:
            methods.remove("head")
        assert route.signature is not None
        markers = _markers(route.signature)
        used.extend(m for m in markers if m not in used)
        for method in methods:
            operation = _operation(route, schemas, errors, problem, markers)
            item[method] = operation
            named.append((operation, route.name, method, len(methods)))
    for item in paths.values():
        if "get" in item:
            item.pop("head", None)
    _assign_operation_ids(named, paths)
    tags: dict[str, None] = {}
    for item in paths.values():
        item_ops = [item[m] for m in _METHOD_ORDER if m in item]
        for operation in item_ops:
            tags.update(dict.fromkeys(operation.get("tags", ())))
        # Keep a stable method order whichever order the routes were declared in.
        ordered = {m: item[m] for m in _METHOD_ORDER if m in item}
        item.clear()
        item.update(ordered)
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": app.settings.title, "version": app.settings.version},
        "paths": paths,
    }
    if tags:
        document["tags"] = [{"name": tag} for tag in tags]
    security_schemes = _security_schemes(app, used)
    _drop_undeclared((op for item in paths.values() for op in item.values()), security_schemes)
    document["components"] = {"schemas": schemas.resolve()}
    if security_schemes:
        document["components"]["securitySchemes"] = security_schemes
    return document


def _assign_operation_ids(
    named: list[tuple[dict[str, Any], str, str, int]], paths: dict[str, dict[str, Any]]
) -> None:
    """The route name, or ``name_method`` for a route serving several methods; a numeric
    suffix keeps ids unique when one handler is routed at several paths."""
    live = {id(op) for item in paths.values() for op in item.values()}
    taken: set[str] = set()
    for operation, name, method, count in named:
        if id(operation) not in live:
            continue
        base = name if count == 1 else f"{name}_{method}"
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        # Rebuilt so that operationId comes first in the served document.
        rest = dict(operation)
        operation.clear()
        operation["operationId"] = candidate
        operation.update(rest)


__all__ = [
    "OPENAPI_VERSION",
    "SECURITY_ATTRIBUTE",
    "Problem",
    "Security",
    "SecurityRequirement",
    "SecuritySchemeProvider",
    "openapi_document",
    "openapi_path",
    "security",
]
