"""The Jinja2 environment: lookup order, autoescaping, globals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jinja2
import pytest

from tidal import Tidal
from tidal.exceptions import NoReverseMatch
from tidal.templates import create_environment, get_environment, install
from tidal.templates.environment import template_dirs

MakeApp = Callable[..., Tidal]
WriteApps = Callable[..., Path]


@pytest.fixture
def two_apps(write_apps: WriteApps) -> Path:
    return write_apps(
        {
            "tpl_first/templates/shared/page.html": "first",
            "tpl_second/templates/shared/page.html": "second",
            "tpl_second/templates/shared/only_second.html": "only in second",
            "tpl_nothing/routes.py": "from tidal import Router\nrouter = Router()\n",
        }
    )


async def test_first_installed_app_wins(make_app: MakeApp, two_apps: Path) -> None:
    app = make_app(apps=("tpl_first", "tpl_nothing", "tpl_second"))
    environment = get_environment(app)
    assert await environment.get_template("shared/page.html").render_async() == "first"
    assert await environment.get_template("shared/only_second.html").render_async() == (
        "only in second"
    )
    assert template_dirs(app) == [
        two_apps / "tpl_first/templates",
        two_apps / "tpl_second/templates",
    ]


async def test_reversed_order_overrides_the_other_way(make_app: MakeApp, two_apps: Path) -> None:
    app = make_app(apps=("tpl_second", "tpl_first"))
    assert await get_environment(app).get_template("shared/page.html").render_async() == "second"


def test_environment_is_cached_per_app(make_app: MakeApp, two_apps: Path) -> None:
    app = make_app(apps=("tpl_first",))
    other = make_app(apps=("tpl_second",))
    assert get_environment(app) is get_environment(app)
    assert get_environment(app) is not get_environment(other)
    assert create_environment(app) is not get_environment(app)


def test_environment_options(make_app: MakeApp) -> None:
    environment = get_environment(make_app())
    assert environment.is_async
    assert environment.auto_reload is False
    assert get_environment(make_app(debug=True)).auto_reload is True


@pytest.mark.parametrize("name", ["page.html", "page.htm", "feed.xml", "icon.svg"])
async def test_markup_templates_are_autoescaped(
    make_app: MakeApp, write_apps: WriteApps, name: str
) -> None:
    write_apps({f"tpl_markup/templates/{name}": "<p>{{ value }}</p>"})
    template = get_environment(make_app(apps=("tpl_markup",))).get_template(name)
    rendered = await template.render_async(value="<script>alert('x')</script>")
    assert rendered == "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>"


async def test_plain_text_templates_are_not_escaped(
    make_app: MakeApp, write_apps: WriteApps
) -> None:
    write_apps({"tpl_text/templates/mail.txt": "Hi {{ name }}"})
    template = get_environment(make_app(apps=("tpl_text",))).get_template("mail.txt")
    assert await template.render_async(name="<Ada>") == "Hi <Ada>"


async def test_url_for_and_static_globals(make_app: MakeApp, write_apps: WriteApps) -> None:
    write_apps({"tpl_assets/static/tpl_assets/app.js": "1"})
    app = make_app(apps=("tpl_assets",))

    @app.get("/boards/{board_id:int}")
    async def show_board(board_id: int) -> None: ...

    install(app)
    template = get_environment(app).from_string(
        "{{ url_for('show_board', board_id=7) }} {{ static('tpl_assets/app.js') }}"
    )
    assert await template.render_async() == "/boards/7 /static/tpl_assets/app.js"


async def test_url_for_a_route_parameter_called_name(make_app: MakeApp) -> None:
    app = make_app()

    @app.get("/users/{name}")
    async def user(name: str) -> None: ...

    template = get_environment(app).from_string("{{ url_for('user', name='ada') }}")
    assert await template.render_async() == "/users/ada"


async def test_static_without_static_files_says_what_to_do(make_app: MakeApp) -> None:
    app = make_app()
    install(app)
    template = get_environment(app).from_string("{{ static('site.css') }}")
    with pytest.raises(NoReverseMatch, match=r"static\('site.css'\): no static files are served"):
        await template.render_async()


async def test_unknown_route_name(make_app: MakeApp) -> None:
    template = get_environment(make_app()).from_string("{{ url_for('nowhere') }}")
    with pytest.raises(NoReverseMatch, match="nowhere"):
        await template.render_async()


def test_templates_need_no_loader_folders(make_app: MakeApp) -> None:
    with pytest.raises(jinja2.TemplateNotFound):
        get_environment(make_app()).get_template("missing.html")
