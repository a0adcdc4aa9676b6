"""Host header validation: which host names this site answers for (pure functions).

A forged ``Host`` header is how password-reset mails end up linking to an attacker's domain
and how caches get poisoned: any absolute URL the application builds from the request uses
it. Only the names in ``allowed_hosts`` are accepted.

Patterns: ``"example.com"`` matches exactly; ``".example.com"`` matches ``example.com`` and
every subdomain; ``"*"`` matches anything (validation off); IPv6 literals are written in
brackets, ``"[::1]"``. Ports are ignored on both sides, and a trailing dot is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# reg-name (letters, digits, dots, hyphens) or a bracketed IPv6 literal, then an optional port.
_HOST = re.compile(r"(?P<name>[a-z0-9.-]{1,253}|\[[a-f0-9:.]{2,45}\])(?::(?P<port>[0-9]{1,5}))?")
# Allowed in debug mode when ``allowed_hosts`` is empty: loopback names, and "testserver",
# the host Tidal's test client sends.
DEBUG_HOSTS = (".localhost", "127.0.0.1", "[::1]", "testserver")


def split_host(host: str) -> tuple[str, str] | None:
    """``(name, port)`` of a Host header value, lowercased, or None when it is not a
    syntactically valid host (``evil.com@good.com``, spaces, two ports, bare IPv6...)."""
    match = _HOST.fullmatch(host.lower())
    if match is None:
        return None
    name = match.group("name")
    if name.endswith(".") and not name.startswith("["):
        name = name[:-1]
    if not name or name.startswith(".") or ".." in name:
        return None
    return name, match.group("port") or ""


def normalize_pattern(pattern: str) -> str:
    """A pattern in the form ``host_matches`` compares: lowercased, port and trailing dot
    dropped, bare IPv6 bracketed."""
    pattern = pattern.strip().lower()
    if pattern in ("*", ""):
        return pattern
    if ":" in pattern and not pattern.startswith("[") and pattern.count(":") > 1:
        return f"[{pattern}]"
    if pattern.startswith("["):
        return pattern.partition("]")[0] + "]"
    pattern = pattern.partition(":")[0]
    return pattern[:-1] if pattern.endswith(".") else pattern


def host_matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether the host ``name`` (from ``split_host``) matches one of the normalized
    ``patterns``."""
    for pattern in patterns:
        if pattern == "*" or pattern == name:
            return True
        if pattern.startswith(".") and (name.endswith(pattern) or name == pattern[1:]):
            return True
    return False


def effective_patterns(allowed_hosts: Sequence[str], debug: bool) -> list[str]:
    """The patterns in force: ``allowed_hosts``, or ``DEBUG_HOSTS`` in debug mode when it
    is empty (so a fresh project runs locally without configuration)."""
    hosts = list(allowed_hosts) or (list(DEBUG_HOSTS) if debug else [])
    return [normalize_pattern(p) for p in hosts if p.strip()]


def invalid_pattern(pattern: str) -> str | None:
    """Why an ``allowed_hosts`` entry can never match, or None when it is fine."""
    text = pattern.strip()
    if "://" in text or "/" in text:
        return "looks like a URL; list the host name only (no scheme, no path)"
    normalized = normalize_pattern(text)
    if normalized == "*":
        return None
    if normalized.startswith(".") and split_host(normalized[1:]) is not None:
        return None
    if not normalized or split_host(normalized) is None:
        return "is not a valid host name"
    return None


__all__ = [
    "DEBUG_HOSTS",
    "effective_patterns",
    "host_matches",
    "invalid_pattern",
    "normalize_pattern",
    "split_host",
]
