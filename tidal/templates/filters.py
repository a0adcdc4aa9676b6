"""Template filters a web page needs beyond Jinja's own: dates, relative times, plurals,
truncation, and JSON that is safe inside ``<script>``.

Each is a plain function of its value, so they are testable without a template and usable
from Python code; ``FILTERS`` is what the Jinja environment registers.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable, Sized
from typing import Any

import msgspec
from markupsafe import Markup

from tidal.http.responses import encode_json

# Characters that may end a <script> element, open an HTML comment or an entity, or end a
# quoted attribute, plus the two line separators old JavaScript engines refuse in strings.
# JSON allows each of them escaped as \uXXXX, which means the same value.
_JSON_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("'", "\\u0027"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)

DATE_FORMATS = {
    "short": "{d:%Y}-{d:%m}-{d:%d}",
    "medium": "{d:%b} {d.day}, {d.year}",
    "long": "{d:%B} {d.day}, {d.year}",
    "full": "{d:%A}, {d:%B} {d.day}, {d.year}",
}
TIME_FORMATS = {
    "short": "{d:%H}:{d:%M}",
    "medium": "{d:%H}:{d:%M}",
    "long": "{d:%H}:{d:%M}:{d:%S}",
    "full": "{d:%H}:{d:%M}:{d:%S} {d:%Z}",
}
_UNITS = (
    ("year", 365 * 86400),
    ("month", 30 * 86400),
    ("week", 7 * 86400),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
)


def to_json(value: Any, indent: int | None = None) -> Markup:
    """``{{ data|tojson }}``: ``value`` as JSON that can be placed in a ``<script>``
    element or an HTML attribute without escaping: ``<``, ``>``, ``&`` and ``'`` are written
    as ``\\u003c`` etc., so a string holding ``</script>`` cannot end the element."""
    raw = encode_json(value)
    if indent is not None:
        raw = msgspec.json.format(raw, indent=indent)
    text = raw.decode()
    for char, escaped in _JSON_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    # Safe by construction: every character that could end the element or an attribute
    # was escaped above.
    return Markup(text)  # noqa: S704


def json_script(value: Any, element_id: str | None = None) -> Markup:
    """``{{ data|json_script("board-data") }}``: a ``<script type="application/json">``
    element holding ``value``; read it with
    ``JSON.parse(document.getElementById("board-data").textContent)``. Unlike inline
    JavaScript, a JSON script element runs nothing, so the page's Content-Security-Policy
    need not allow inline scripts."""
    if element_id:
        return Markup('<script type="application/json" id="{}">{}</script>').format(
            element_id, to_json(value)
        )
    return Markup('<script type="application/json">{}</script>').format(to_json(value))


def _aware(value: datetime.datetime, tz: str | None) -> datetime.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)  # naive means UTC, as the models store it
    if tz is not None:
        value = value.astimezone(zoneinfo.ZoneInfo(tz))
    return value


def format_date(
    value: datetime.date | datetime.datetime | None, format: str = "medium", tz: str | None = None
) -> str:
    """``{{ post.published|date }}`` -> ``Mar 7, 2025``. ``format`` is ``short``
    (2025-03-07), ``medium``, ``long`` (March 7, 2025), ``full`` (Friday, March 7, 2025),
    ``iso``, or a ``strftime`` pattern; ``tz`` ("Europe/Paris") converts a datetime first.
    ``None`` gives an empty string."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = _aware(value, tz)
        if format != "iso":
            value = value.date() if format in DATE_FORMATS else value
    if format == "iso":
        return value.isoformat()
    preset = DATE_FORMATS.get(format)
    return preset.format(d=value) if preset is not None else value.strftime(format)


def format_datetime(
    value: datetime.datetime | None, format: str = "medium", tz: str | None = None
) -> str:
    """``{{ comment.created_at|datetime(tz="Europe/Paris") }}`` -> ``Mar 7, 2025, 14:05``.
    Formats as ``format_date`` plus the time; a naive datetime is taken to be UTC."""
    if value is None:
        return ""
    value = _aware(value, tz)
    if format == "iso":
        return value.isoformat()
    if format in DATE_FORMATS:
        date = DATE_FORMATS[format].format(d=value)
        return f"{date}, {TIME_FORMATS[format].format(d=value)}"
    return value.strftime(format)


def _seconds_between(
    value: datetime.date | datetime.datetime, now: datetime.datetime | None
) -> float:
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day)
    value = _aware(value, None)
    now = _aware(now, None) if now is not None else datetime.datetime.now(datetime.UTC)
    return (now - value).total_seconds()


def _duration(seconds: float, depth: int) -> str:
    """``3 days`` (or ``3 days, 4 hours`` with depth 2): the largest units first, stopping
    at the first unit that is zero so the text never skips one."""
    remaining = int(abs(seconds))
    parts: list[str] = []
    for name, size in _UNITS:
        count, remaining = divmod(remaining, size)
        if parts or count:
            if not count:
                break
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
            if len(parts) == depth:
                break
    return ", ".join(parts) or "0 minutes"


def timesince(
    value: datetime.date | datetime.datetime | None,
    now: datetime.datetime | None = None,
    depth: int = 1,
) -> str:
    """``{{ post.published|timesince }}`` -> ``3 days``: the time elapsed since ``value``
    in its largest unit (``depth=2``: ``3 days, 4 hours``). A future value gives
    ``0 minutes``; see ``naturaltime`` for "in 2 hours"."""
    if value is None:
        return ""
    seconds = _seconds_between(value, now)
    return _duration(seconds, depth) if seconds > 0 else "0 minutes"


def naturaltime(
    value: datetime.date | datetime.datetime | None, now: datetime.datetime | None = None
) -> str:
    """``{{ card.updated_at|naturaltime }}`` -> ``just now``, ``5 minutes ago``,
    ``in 2 hours``: a time relative to now (``now`` overrides the clock, for tests)."""
    if value is None:
        return ""
    seconds = _seconds_between(value, now)
    if abs(seconds) < 60:
        return "just now"
    text = _duration(seconds, 1)
    return f"{text} ago" if seconds > 0 else f"in {text}"


def pluralize(value: Any, suffix: str = "s") -> str:
    """``{{ n }} card{{ n|pluralize }}`` -> ``1 card``, ``2 cards``; ``pluralize("y,ies")``
    for ``1 story``/``2 stories``. ``value`` is a number or anything with a length."""
    singular, comma, plural = suffix.rpartition(",")
    if not comma:
        singular, plural = "", suffix
    if isinstance(value, Sized) and not isinstance(value, str):
        count: Any = len(value)
    else:
        try:
            count = float(value)
        except (TypeError, ValueError):
            return ""
    return singular if count == 1 else plural


def _plain(value: Any) -> str:
    # Truncating markup could cut a tag in half: truncate its text instead.
    return value.striptags() if isinstance(value, Markup) else str(value)


def truncatechars(value: Any, length: int, end: str = "…") -> str:
    """``{{ text|truncatechars(80) }}``: at most ``length`` characters, ``end`` included
    when the text was cut."""
    text = _plain(value)
    if len(text) <= length:
        return text
    return text[: max(length - len(end), 0)].rstrip() + end


def truncatewords(value: Any, count: int, end: str = "…") -> str:
    """``{{ text|truncatewords(20) }}``: the first ``count`` words, then ``end`` when the
    text was cut. Whitespace between the kept words becomes single spaces."""
    words = _plain(value).split()
    if len(words) <= count:
        return " ".join(words)
    return " ".join(words[:count]) + end


FILTERS: dict[str, Callable[..., Any]] = {
    "date": format_date,
    "datetime": format_datetime,
    "json_script": json_script,
    "naturaltime": naturaltime,
    "pluralize": pluralize,
    "timesince": timesince,
    "tojson": to_json,
    "truncatechars": truncatechars,
    "truncatewords": truncatewords,
}


__all__ = [
    "FILTERS",
    "format_date",
    "format_datetime",
    "json_script",
    "naturaltime",
    "pluralize",
    "timesince",
    "to_json",
    "truncatechars",
    "truncatewords",
]
