"""Template filters: dates, relative times, plurals, truncation, script-safe JSON."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from markupsafe import Markup

from tidal import Tidal
from tidal.templates import get_environment
from tidal.templates.filters import (
    format_date,
    format_datetime,
    json_script,
    naturaltime,
    pluralize,
    timesince,
    to_json,
    truncatechars,
    truncatewords,
)

MakeApp = Callable[..., Tidal]
NOW = datetime.datetime(2025, 3, 7, 12, 0, tzinfo=datetime.UTC)
SCRIPT_END = "</script><script>alert('pwned')</script><!--"


async def rendered(make_app: MakeApp, source: str, **context: Any) -> str:
    return await get_environment(make_app()).from_string(source).render_async(**context)


def test_dates() -> None:
    day = datetime.date(2025, 3, 7)
    moment = datetime.datetime(2025, 3, 7, 14, 5, 9)
    assert format_date(day) == "Mar 7, 2025"
    assert format_date(day, "short") == "2025-03-07"
    assert format_date(day, "long") == "March 7, 2025"
    assert format_date(day, "full") == "Friday, March 7, 2025"
    assert format_date(day, "%d/%m/%Y") == "07/03/2025"
    assert format_date(moment, "iso") == "2025-03-07T14:05:09+00:00"
    assert format_date(None) == ""
    assert format_datetime(moment) == "Mar 7, 2025, 14:05"
    assert format_datetime(moment, "long") == "March 7, 2025, 14:05:09"
    # naive means UTC; tz converts
    assert format_datetime(moment, "short", tz="Asia/Tokyo") == "2025-03-07, 23:05"
    assert format_date(datetime.datetime(2025, 3, 7, 23, 30), tz="Asia/Tokyo") == "Mar 8, 2025"


@pytest.mark.parametrize(
    ("then", "natural", "since"),
    [
        (NOW - datetime.timedelta(seconds=20), "just now", "0 minutes"),
        (NOW - datetime.timedelta(minutes=1), "1 minute ago", "1 minute"),
        (NOW - datetime.timedelta(hours=5, minutes=3), "5 hours ago", "5 hours"),
        (NOW - datetime.timedelta(days=3), "3 days ago", "3 days"),
        (NOW - datetime.timedelta(days=15), "2 weeks ago", "2 weeks"),
        (NOW - datetime.timedelta(days=800), "2 years ago", "2 years"),
        (NOW + datetime.timedelta(hours=2), "in 2 hours", "0 minutes"),
    ],
)
def test_relative_times(then: datetime.datetime, natural: str, since: str) -> None:
    assert naturaltime(then, now=NOW) == natural
    assert timesince(then, now=NOW) == since


def test_relative_time_details() -> None:
    then = NOW - datetime.timedelta(days=1, hours=4, minutes=2)
    assert timesince(then, now=NOW, depth=2) == "1 day, 4 hours"
    assert timesince(NOW - datetime.timedelta(days=1, minutes=5), now=NOW, depth=2) == "1 day"
    assert naturaltime(datetime.date(2025, 3, 5), now=NOW) == "2 days ago"
    assert naturaltime(None) == timesince(None) == ""


def test_pluralize() -> None:
    assert [f"card{pluralize(n)}" for n in (0, 1, 2)] == ["cards", "card", "cards"]
    assert [f"stor{pluralize(n, 'y,ies')}" for n in (1, 3)] == ["story", "stories"]
    assert pluralize([1]) == ""
    assert pluralize([1, 2], "es") == "es"
    assert pluralize("1") == ""
    assert pluralize("x") == ""


def test_truncation() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    assert truncatechars(text, 15) == "The quick brow…"
    assert len(truncatechars(text, 15)) == 15
    assert truncatechars("short", 15) == "short"
    assert truncatewords(text, 4) == "The quick brown fox…"
    assert truncatewords("a  b", 4) == "a b"
    # markup is truncated as text, never cut inside a tag
    assert truncatechars(Markup("<b>bold</b> words here"), 8) == "bold wo…"


def test_json_is_safe_inside_a_script_element() -> None:
    data = {"message": SCRIPT_END, "amp": "a & b", "quote": "it's", "line": "\u2028"}
    text = str(to_json(data))
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert "'" not in text
    assert "\u2028" not in text
    assert json.loads(text) == data
    element = str(json_script(data, "board-data"))
    assert element.startswith('<script type="application/json" id="board-data">')
    assert element.count("</script>") == 1
    assert element.endswith("</script>")
    assert json.loads(element.split(">", 1)[1].rsplit("<", 1)[0]) == data
    assert json_script([1], '"><x') == (
        '<script type="application/json" id="&#34;&gt;&lt;x">[1]</script>'
    )


async def test_filters_in_templates(make_app: MakeApp) -> None:
    source = (
        "<script>const board = {{ board|tojson }};</script>"
        "{{ board|json_script('b') }}|{{ n }} card{{ n|pluralize }}|"
        "{{ day|date('long') }}|{{ text|truncatewords(2) }}|{{ board|tojson(indent=1) }}"
    )
    html = await rendered(
        make_app,
        source,
        board={"title": SCRIPT_END},
        n=2,
        day=datetime.date(2025, 1, 2),
        text="one two three",
    )
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 2  # the payload ended neither element
    assert json.loads(scripts[0].removeprefix("const board = ").removesuffix(";")) == {
        "title": SCRIPT_END
    }
    assert "|2 cards|January 2, 2025|one two…|{\n" in html


async def test_the_json_filter_needs_json_values(make_app: MakeApp) -> None:
    with pytest.raises(TypeError, match="Cannot encode object objects as JSON"):
        await rendered(make_app, "{{ value|tojson }}", value=object())
