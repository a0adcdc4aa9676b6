"""Micro-benchmark: the TechEmpower fortunes page rendered by Tidal and by Django's template
engine, without a database or a server, so only templating is measured.

    .venv/bin/python -m bench.fortunes_render              # ~2 s per case
    .venv/bin/python -m bench.fortunes_render --seconds 5 --json out.json

Both engines read the same file (``bench/peers/fortunes_pages/templates/fortunes.html``)
with the same 13 rows (the 12 standard fortunes plus the one added at request time, sorted
by message, one of them a ``<script>`` that must come out escaped). Cases:

* ``tidal render()``: ``await tidal.render(request, ...)``, what a handler does (context with
  ``request``/``csrf_token``, Jinja2 async rendering, the ``HTMLResponse``);
* ``jinja2 render_async``: the compiled template alone, as Tidal runs it;
* ``django render()``: ``django.shortcuts.render(request, ...)`` (RequestContext, the
  ``HttpResponse``), with no context processors;
* ``django render_to_string``: Django's engine alone.

The outputs are checked to be the same page (after un-escaping: the engines spell ``"`` and
``'`` differently) before anything is timed. Needs Django (``pip install django``): a
benchmark dependency only, never one of Tidal's.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

TEMPLATE = "fortunes.html"
APP = "bench.peers.fortunes_pages"
FOLDER = Path(__file__).parent / "peers" / "fortunes_pages" / "templates"
ADDED = "Additional fortune added at request time."
FORTUNES = [
    "fortune: No such file or directory",
    "A computer scientist is someone who fixes things that aren't broken.",
    "After enough decimal places, nobody gives a damn.",
    "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    "A computer program does what you tell it to do, not what you want it to do.",
    "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen",
    "Any program that runs right is obsolete.",
    "A list is only as strong as its weakest link. \u2014 Donald Knuth",
    "Feature: A bug with seniority.",
    "Computers make very fast, very accurate mistakes.",
    '<script>alert("This should not be displayed in a browser alert box.");</script>',
    "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af",
]


class Fortune:
    __slots__ = ("id", "message")

    def __init__(self, id: int, message: str) -> None:
        self.id = id
        self.message = message


def rows() -> list[Fortune]:
    """What a fortunes handler renders: the table plus the added row, sorted by message."""
    found = [Fortune(i, message) for i, message in enumerate(FORTUNES, start=1)]
    found.append(Fortune(0, ADDED))
    found.sort(key=lambda fortune: fortune.message)
    return found


# -- Tidal -------------------------------------------------------------------------------


def tidal_cases() -> dict[str, Callable[[], Awaitable[str]]]:
    from starlette.requests import Request

    from tidal import Tidal
    from tidal.templates import get_environment, render

    app = Tidal(
        apps=[APP],
        settings={"secret_key": "bench-" * 10, "allowed_hosts": ["*"], "access_log": False},
    )
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/fortunes",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "tidal.app": app,
    }
    request = Request(scope)
    template = get_environment(app).get_template(TEMPLATE)

    async def full() -> str:
        response = await render(request, TEMPLATE, {"fortunes": rows()})
        return bytes(response.body).decode()

    async def engine() -> str:
        return await template.render_async(fortunes=rows())

    return {"tidal render()": full, "jinja2 render_async": engine}


# -- Django ------------------------------------------------------------------------------


def django_cases() -> dict[str, Callable[[], Awaitable[str]]]:
    try:
        import django
        from django.conf import settings
    except ImportError:
        sys.exit(
            "Django is needed for the comparison: .venv/bin/pip install django (a benchmark "
            "dependency, not one of Tidal's)."
        )
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["*"],
            USE_TZ=True,
            TEMPLATES=[
                {
                    "BACKEND": "django.template.backends.django.DjangoTemplates",
                    "DIRS": [str(FOLDER)],
                    "OPTIONS": {"context_processors": []},
                }
            ],
        )
        django.setup()
    from django.http import HttpRequest
    from django.shortcuts import render
    from django.template.loader import get_template

    request = HttpRequest()
    request.method = "GET"
    request.path = "/fortunes"
    template = get_template(TEMPLATE)  # the cached loader keeps it compiled

    async def full() -> str:
        response = render(request, TEMPLATE, {"fortunes": rows()})
        return bytes(response.content).decode()

    async def engine() -> str:
        return str(template.render({"fortunes": rows()}))

    return {"django render()": full, "django render_to_string": engine}


# -- running -----------------------------------------------------------------------------


def same_page(first: str, second: str) -> bool:
    def normal(text: str) -> str:
        return html.unescape(text).strip()

    return normal(first) == normal(second)


async def measure(
    cases: dict[str, Callable[[], Awaitable[str]]], seconds: float
) -> dict[str, dict[str, float]]:
    """Renders per second of each case: batches taken in turn for about ``seconds`` per
    case; the median batch and the best. Timed in CPU time of this process
    (``time.process_time``), so other load on the machine does not count; the work is
    single-threaded, so on an idle machine it equals wall time."""
    for case in cases.values():
        for _ in range(200):  # warm up caches and the interpreter
            await case()
    batch = 200
    rates: dict[str, list[float]] = {name: [] for name in cases}
    deadline = time.perf_counter() + seconds * len(cases)
    while time.perf_counter() < deadline or min(map(len, rates.values())) < 5:
        for name, case in cases.items():
            started = time.process_time()
            for _ in range(batch):
                await case()
            rates[name].append(batch / (time.process_time() - started))
    return {
        name: {
            "renders_per_second": statistics.median(found),
            "best_renders_per_second": max(found),
            "microseconds_per_render": 1e6 / statistics.median(found),
            "batches": len(found),
        }
        for name, found in rates.items()
    }


async def main(seconds: float) -> dict[str, Any]:
    cases = {**tidal_cases(), **django_cases()}
    pages = {name: await case() for name, case in cases.items()}
    reference = pages["tidal render()"]
    if "&lt;script&gt;" not in reference or "<script>" in reference:
        raise SystemExit("Tidal's page does not escape the <script> fortune.")
    for name, page in pages.items():
        if not same_page(reference, page):
            raise SystemExit(f"{name} renders a different page than Tidal:\n{page}")
    results = await measure(cases, seconds)
    ratio = (
        results["tidal render()"]["renders_per_second"]
        / results["django render()"]["renders_per_second"]
    )
    engine_ratio = (
        results["jinja2 render_async"]["renders_per_second"]
        / results["django render_to_string"]["renders_per_second"]
    )
    import django
    import jinja2

    return {
        "python": platform.python_version(),
        "jinja2": jinja2.__version__,
        "django": django.__version__,
        "results": results,
        "tidal_vs_django": ratio,
        "jinja2_vs_django_engine": engine_ratio,
    }


def report(summary: dict[str, Any]) -> str:
    lines = [
        f"Fortunes page, 13 rows (Python {summary['python']}, Jinja2 {summary['jinja2']}, "
        f"Django {summary['django']})",
        "",
        f"{'case':<26} {'renders/s':>12} {'µs/render':>10}",
    ]
    for name, result in summary["results"].items():
        lines.append(
            f"{name:<26} {result['renders_per_second']:>12,.0f} "
            f"{result['microseconds_per_render']:>10.1f}"
        )
    lines += [
        "",
        f"Tidal render() vs Django render(): {summary['tidal_vs_django']:.2f}x",
        f"Jinja2 engine vs Django engine:    {summary['jinja2_vs_django_engine']:.2f}x",
    ]
    return "\n".join(lines)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fortunes_render", description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per case")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    summary = asyncio.run(main(args.seconds))
    print(report(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    cli()
