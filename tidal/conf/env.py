"""Reading settings from the environment, a ``.env`` file and a settings module."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from tidal.conf.settings import Settings
from tidal.exceptions import ImproperlyConfigured

PREFIX = "TIDAL_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse ``KEY=value`` lines; comments, blanks and ``export`` prefixes are allowed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep:
            raise ImproperlyConfigured(
                f"{path}:{number}: expected KEY=value, got {raw!r}. Fix or remove the line."
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _cast(name: str, raw: str, annotation: Any) -> Any:
    """Turn one environment string into the field's type; lists are comma-separated."""
    text = raw.strip()
    if annotation is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{PREFIX}{name.upper()}={raw!r} is not a boolean. Use true or false."
        )
    if annotation == list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]
    if text.lower() in {"none", "null"} and "None" in str(annotation):
        return None
    return text


def _field_types() -> dict[str, Any]:
    return {f.name: f.type for f in msgspec.structs.fields(Settings)}


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings named by ``TIDAL_*`` variables in ``environ``, cast to their types."""
    values: dict[str, Any] = {}
    for name, annotation in _field_types().items():
        key = PREFIX + name.upper()
        if key in environ:
            values[name] = _cast(name, environ[key], annotation)
    return values


def from_module(dotted: str) -> dict[str, Any]:
    """UPPERCASE names of a settings module; an unknown UPPERCASE name is a typo, so refused."""
    try:
        module = importlib.import_module(dotted)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"TIDAL_SETTINGS_MODULE={dotted!r} cannot be imported ({exc}). "
            "Check the module path and that its folder is on sys.path."
        ) from exc
    known = _field_types()
    values: dict[str, Any] = {}
    for attr in dir(module):
        if not attr.isupper():
            continue
        name = attr.lower()
        if name not in known:
            raise ImproperlyConfigured(
                f"{dotted}.{attr} is not a Tidal setting. Known settings: "
                + ", ".join(sorted(n.upper() for n in known))
            )
        values[name] = getattr(module, attr)
    return values


def build(values: Mapping[str, Any]) -> Settings:
    """Validate merged values into ``Settings``, naming the setting and the fix on error."""
    try:
        return msgspec.convert(dict(values), Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ImproperlyConfigured(
            f"Invalid setting: {exc}. Each setting is also read from the environment "
            f"as {PREFIX}<NAME>; see docs/ref/settings.md for the expected types."
        ) from exc


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv: Path | None = None,
) -> Settings:
    """Merge defaults, settings module, ``.env``, environment and ``overrides``, then validate."""
    env = os.environ if environ is None else environ
    dotenv_values = read_dotenv(dotenv if dotenv is not None else Path.cwd() / ".env")
    merged: dict[str, Any] = {}
    module = env.get(PREFIX + "SETTINGS_MODULE") or dotenv_values.get(PREFIX + "SETTINGS_MODULE")
    if module:
        merged.update(from_module(module))
    merged.update(from_environ(dotenv_values))
    merged.update(from_environ(env))
    if overrides:
        unknown = set(overrides) - set(_field_types())
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown setting(s) {sorted(unknown)}; see docs/ref/settings.md for the list."
            )
        merged.update(overrides)
    return build(merged)


__all__ = ["PREFIX", "build", "from_environ", "from_module", "load_settings", "read_dotenv"]
