"""``tidal collectstatic`` and serving its output: hashed names, the manifest, immutable
caching, ETags and 304s, gzip variants."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tidal import Tidal
from tidal.cli import main
from tidal.exceptions import ImproperlyConfigured, NoReverseMatch
from tidal.templates import get_environment
from tidal.templates.collect import collect_static, hashed_name
from tidal.templates.staticfiles import IMMUTABLE, REVALIDATE, static_dirs
from tidal.testing import TestClient

MakeApp = Callable[..., Tidal]
WriteApps = Callable[..., Path]

CSS = (
    "body { background: url('../img/logo.png') no-repeat; }\n"
    '@import "base.css";\n'
    ".x { background: url(data:image/png;base64,AAAA); }\n"
    ".y { background: url(https://cdn.example.com/a.png); }\n"
    '.z { background: url("../img/missing.png?v=1#frag"); }\n'
    ".w { background: url(../img/logo.png?v=2); }\n"
    + "/* padding so the file is worth compressing */\n"
    * 10
)
FILES: dict[str, str | bytes] = {
    "cs_site/static/css/site.css": CSS,
    "cs_site/static/css/base.css": "h1 { color: red }",
    "cs_site/static/img/logo.png": b"\x89PNG first",
    "cs_site/static/.hidden": "secret",
    "cs_lib/static/img/logo.png": b"\x89PNG overridden",
    "cs_lib/static/js/lib.min.js": "export const lib = 1;\n" * 40,
    "cs_lib/static/LICENSE": "MIT",
}


@pytest.fixture
def sources(write_apps: WriteApps) -> Path:
    return write_apps(FILES)


@pytest.fixture
def collected(make_app: MakeApp, sources: Path, tmp_path: Path) -> Path:
    root = tmp_path / "staticfiles"
    app = make_app(apps=("cs_site", "cs_lib"))
    collect_static(static_dirs(app), root)
    return root


def test_hashed_names() -> None:
    assert hashed_name("css/site.css", b"a") == "css/site.ca978112ca1b.css"
    assert hashed_name("js/lib.min.js", b"a") == "js/lib.min.ca978112ca1b.js"
    assert hashed_name("LICENSE", b"a") == "LICENSE.ca978112ca1b"
    assert hashed_name("css/site.css", b"b") != hashed_name("css/site.css", b"a")


def test_collects_every_app_first_one_wins(collected: Path) -> None:
    manifest = json.loads((collected / "staticfiles.json").read_text())
    paths = manifest["paths"]
    assert sorted(paths) == [
        "LICENSE",
        "css/base.css",
        "css/site.css",
        "img/logo.png",
        "js/lib.min.js",
    ]
    logo = paths["img/logo.png"]
    assert logo == hashed_name("img/logo.png", b"\x89PNG first")
    assert (collected / logo).read_bytes() == b"\x89PNG first"
    assert (collected / "img/logo.png").read_bytes() == b"\x89PNG first"
    assert not (collected / ".hidden").exists()
    assert sorted(manifest["gzip"]) == sorted(
        ["css/site.css", paths["css/site.css"], "js/lib.min.js", paths["js/lib.min.js"]]
    )
    js = paths["js/lib.min.js"]
    assert gzip.decompress((collected / f"{js}.gz").read_bytes()) == (collected / js).read_bytes()
    assert not (collected / "LICENSE.gz").exists()  # not a compressible type


def test_stylesheets_point_at_hashed_names(collected: Path) -> None:
    paths = json.loads((collected / "staticfiles.json").read_text())["paths"]
    css = (collected / paths["css/site.css"]).read_text()
    logo = paths["img/logo.png"].removeprefix("img/")
    base = paths["css/base.css"].removeprefix("css/")
    assert f"url('../img/{logo}')" in css
    assert f'@import "{base}"' in css
    assert f"url(../img/{logo}?v=2)" in css
    assert "url(data:image/png;base64,AAAA)" in css
    assert "url(https://cdn.example.com/a.png)" in css
    assert 'url("../img/missing.png?v=1#frag")' in css
    # the stylesheet's own hash covers the rewritten content
    assert paths["css/site.css"] == hashed_name("css/site.css", css.encode())


def test_a_changed_image_renames_the_stylesheet(
    make_app: MakeApp, write_apps: WriteApps, collected: Path, tmp_path: Path
) -> None:
    before = json.loads((collected / "staticfiles.json").read_text())["paths"]
    write_apps({"cs_site/static/img/logo.png": b"\x89PNG new"})
    collect_static(static_dirs(make_app(apps=("cs_site", "cs_lib"))), collected)
    after = json.loads((collected / "staticfiles.json").read_text())["paths"]
    assert after["img/logo.png"] != before["img/logo.png"]
    assert after["css/site.css"] != before["css/site.css"]
    assert after["css/base.css"] == before["css/base.css"]
    assert (collected / before["img/logo.png"]).exists()  # kept for cached pages


def test_clear_and_overlap(make_app: MakeApp, sources: Path, collected: Path) -> None:
    directories = static_dirs(make_app(apps=("cs_site", "cs_lib")))
    (collected / "stale.txt").write_text("old")
    collect_static(directories, collected, clear=True, compress=False)
    assert not (collected / "stale.txt").exists()
    assert not list(collected.rglob("*.gz"))
    with pytest.raises(ImproperlyConfigured, match="overlaps the app static folder"):
        collect_static(directories, sources / "cs_site/static/out")


@pytest.fixture
def production(make_app: MakeApp, collected: Path) -> Tidal:
    return make_app(apps=("cs_site", "cs_lib"), static_root=str(collected))


async def test_static_gives_hashed_urls(production: Tidal, collected: Path) -> None:
    paths = json.loads((collected / "staticfiles.json").read_text())["paths"]
    async with TestClient(production):
        template = get_environment(production).from_string(
            "{{ static('css/site.css') }} {{ static('/img/logo.png') }}"
        )
        assert await template.render_async() == (
            f"/static/{paths['css/site.css']} /static/{paths['img/logo.png']}"
        )
        missing = get_environment(production).from_string("{{ static('css/nope.css') }}")
        with pytest.raises(NoReverseMatch, match=r"static\('css/nope.css'\): no such file"):
            await missing.render_async()


async def test_hashed_files_are_immutable_and_revalidated_by_etag(
    production: Tidal, collected: Path
) -> None:
    paths = json.loads((collected / "staticfiles.json").read_text())["paths"]
    logo = f"/static/{paths['img/logo.png']}"
    async with TestClient(production) as client:
        hashed = await client.get(logo)
        plain = await client.get("/static/img/logo.png")
        cached = await client.get(logo, headers={"if-none-match": hashed.headers["etag"]})
        stale = await client.get(logo, headers={"if-none-match": '"other"'})
    assert hashed.status_code == 200
    assert hashed.content == b"\x89PNG first"
    assert hashed.headers["cache-control"] == IMMUTABLE
    assert hashed.headers["content-type"] == "image/png"
    assert plain.headers["cache-control"] == REVALIDATE
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["cache-control"] == IMMUTABLE
    assert cached.headers["etag"] == hashed.headers["etag"]
    assert stale.status_code == 200


async def test_gzip_variants(production: Tidal, collected: Path) -> None:
    paths = json.loads((collected / "staticfiles.json").read_text())["paths"]
    js = f"/static/{paths['js/lib.min.js']}"
    original = (collected / paths["js/lib.min.js"]).read_bytes()
    async with TestClient(production) as client:
        zipped = await client.get(js, headers={"accept-encoding": "br, gzip"})
        identity = await client.get(js, headers={"accept-encoding": "identity"})
        refused = await client.get(js, headers={"accept-encoding": "gzip;q=0"})
        revalidated = await client.get(
            js, headers={"accept-encoding": "gzip", "if-none-match": zipped.headers["etag"]}
        )
        none = await client.get(
            f"/static/{paths['img/logo.png']}", headers={"accept-encoding": "gzip"}
        )
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert zipped.content == original  # httpx decodes; the wire carried the .gz
    assert int(zipped.headers["content-length"]) < len(original)
    assert "content-encoding" not in identity.headers
    assert identity.headers["vary"] == "Accept-Encoding"
    assert identity.headers["etag"] != zipped.headers["etag"]
    assert "content-encoding" not in refused.headers
    assert revalidated.status_code == 304
    assert "content-encoding" not in none.headers
    assert "vary" not in none.headers


async def test_production_needs_the_manifest(
    make_app: MakeApp, sources: Path, tmp_path: Path
) -> None:
    app = make_app(apps=("cs_site",), static_root=str(tmp_path / "never-collected"))
    with pytest.raises(ImproperlyConfigured, match="Run `tidal collectstatic`"):
        await app.startup()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken/staticfiles.json").write_text("{")
    broken = make_app(apps=("cs_site",), static_root=str(tmp_path / "broken"), static_url=None)
    with pytest.raises(ImproperlyConfigured, match="not a valid static files manifest"):
        await broken.startup()


async def test_debug_serves_the_app_folders(make_app: MakeApp, collected: Path) -> None:
    app = make_app(apps=("cs_site", "cs_lib"), static_root=str(collected), debug=True)
    async with TestClient(app) as client:
        response = await client.get("/static/img/logo.png")
        url = await get_environment(app).from_string("{{ static('img/logo.png') }}").render_async()
    assert response.content == b"\x89PNG first"
    assert response.headers["cache-control"] == REVALIDATE
    assert url == "/static/img/logo.png"


def test_the_collectstatic_command(write_apps: WriteApps, tmp_path: Path) -> None:
    root = tmp_path / "out"
    write_apps(
        {
            **FILES,
            "cs_project/__init__.py": "",
            "cs_project/app.py": (
                "from tidal import Tidal\n"
                "app = Tidal(apps=['cs_site', 'cs_lib'], settings={'secret_key': 's' * 50,\n"
                f"    'allowed_hosts': ['testserver'], 'static_root': {str(root)!r}}})\n"
            ),
        }
    )
    runner = CliRunner()
    result = runner.invoke(main, ["--app", "cs_project.app:app", "collectstatic"])
    assert result.exit_code == 0, result.output
    assert f"Collected 5 static files from 2 apps into {root} (4 gzip variants)" in result.output
    assert "1 file(s) of later apps are overridden" in result.output
    assert (root / "staticfiles.json").exists()
    verbose = runner.invoke(
        main, ["--app", "cs_project.app:app", "collectstatic", "-o", str(tmp_path / "o2"), "-v"]
    )
    assert "img/logo.png:" in verbose.output
    assert "overridden by an earlier app" in verbose.output


def test_the_command_needs_a_folder(write_apps: WriteApps) -> None:
    write_apps(
        {
            "cs_nowhere/__init__.py": "",
            "cs_nowhere/app.py": (
                "from tidal import Tidal\n"
                "app = Tidal(settings={'secret_key': 's' * 50, 'allowed_hosts': ['x']})\n"
            ),
        }
    )
    result = CliRunner().invoke(main, ["--app", "cs_nowhere.app:app", "collectstatic"])
    assert result.exit_code == 1
    assert "Set TIDAL_STATIC_ROOT" in result.output
