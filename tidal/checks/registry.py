"""The check registry: functions of the application that return check messages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

from tidal.checks.messages import CheckMessage

if TYPE_CHECKING:
    from tidal.app import Tidal

CheckFunction = Callable[["Tidal"], Iterable[CheckMessage]]


class _Registered(NamedTuple):
    function: CheckFunction
    deploy: bool


_checks: list[_Registered] = []


def register(*, deploy: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check; ``deploy=True`` checks run only with ``tidal check --deploy``."""

    def decorator(function: CheckFunction) -> CheckFunction:
        _checks.append(_Registered(function, deploy))
        return function

    return decorator


def run_checks(app: Tidal, *, deploy: bool = False) -> list[CheckMessage]:
    """Run every registered check (and the app's own), minus the silenced ids."""
    silenced = set(app.settings.silenced_checks)
    found: list[CheckMessage] = []
    for entry in [*_checks, *(_Registered(f, False) for f in app.checks)]:
        if entry.deploy and not deploy:
            continue
        found.extend(m for m in entry.function(app) if m.id not in silenced)
    return found


__all__ = ["CheckFunction", "register", "run_checks"]
