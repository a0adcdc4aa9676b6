"""HTTP: routing, the handler compiler, parameters, injection, responses and errors."""

from tidal.http.errors import FieldError, HTTPError
from tidal.http.params import Body, Cookie, Depends, Header, Path, Query
from tidal.http.requests import Request
from tidal.http.routing import Router

__all__ = [
    "Body",
    "Cookie",
    "Depends",
    "FieldError",
    "HTTPError",
    "Header",
    "Path",
    "Query",
    "Request",
    "Router",
]
