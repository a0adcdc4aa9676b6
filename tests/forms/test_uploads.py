"""Form bodies and file uploads: streamed to disk, limits, and nothing left behind."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tidal import Request, Tidal
from tidal.forms import Form, FormData, FormLimits, Submitted, UploadedFile, parse_form
from tidal.security import get_csrf_token
from tidal.testing import TestClient

AppFactory = Callable[..., Tidal]


class AvatarForm(Form):
    name: str
    avatar: UploadedFile | None = None
    attachments: list[UploadedFile] = []


def upload_app(app: Tidal, saved: Path, seen: list[Any]) -> Tidal:
    @app.post("/profile")
    async def profile(form: Submitted[AvatarForm]) -> dict[str, Any]:
        seen.append(form)
        if not form.is_valid:
            return {"errors": form.errors}
        result: dict[str, Any] = {"name": form.name, "attachments": len(form.attachments)}
        if form.avatar is not None:
            avatar = form.avatar
            result["avatar"] = [avatar.filename, avatar.content_type, avatar.size]
            if form.name == "keep":
                await avatar.save(saved / "avatar.bin")
        return result

    return app


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    folder = tmp_path / "saved"
    folder.mkdir()
    return folder


@pytest.fixture
def seen() -> list[Any]:
    return []


@pytest.fixture
def app(make_app: AppFactory, uploads: Path, saved: Path, seen: list[Any]) -> Tidal:
    return upload_app(
        make_app(
            upload_dir=str(uploads),
            upload_max_file_size=1000,
            upload_max_files=3,
            max_body_size=20_000,
        ),
        saved,
        seen,
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_an_upload_is_streamed_to_disk_and_saved(
    app: Tidal, uploads: Path, saved: Path, seen: list[Any]
) -> None:
    content = bytes(range(256)) * 3
    async with TestClient(app) as client:
        response = await client.post(
            "/profile",
            data={"name": "keep"},
            files={"avatar": ("../../me.png", content, "image/png")},
        )
    assert response.json() == {
        "name": "keep",
        "attachments": 0,
        "avatar": ["me.png", "image/png", 768],
    }
    assert (saved / "avatar.bin").read_bytes() == content
    assert seen[0].avatar.saved
    assert leftovers(uploads) == []


async def test_unsaved_uploads_are_deleted_after_the_request(
    app: Tidal, uploads: Path, seen: list[Any]
) -> None:
    async with TestClient(app) as client:
        response = await client.post(
            "/profile",
            data={"name": "drop"},
            files=[
                ("avatar", ("a.txt", b"a" * 10, "text/plain")),
                ("attachments", ("b.txt", b"b", "text/plain")),
                ("attachments", ("c.txt", b"c", "text/plain")),
            ],
        )
    assert response.json()["attachments"] == 2
    form = seen[0]
    assert not form.avatar.path.exists()
    assert all(not file.path.exists() for file in form.attachments)
    assert leftovers(uploads) == []


async def test_an_empty_file_input_is_no_file(app: Tidal, uploads: Path) -> None:
    async with TestClient(app) as client:
        response = await client.post(
            "/profile", data={"name": "x"}, files={"avatar": ("", b"", "application/octet-stream")}
        )
    assert response.json() == {"name": "x", "attachments": 0}
    assert leftovers(uploads) == []


async def test_a_file_over_the_limit_is_413_and_leaves_nothing(
    app: Tidal, uploads: Path, seen: list[Any]
) -> None:
    async with TestClient(app) as client:
        response = await client.post(
            "/profile",
            data={"name": "x"},
            files=[
                ("attachments", ("small.txt", b"s" * 10, "text/plain")),
                ("avatar", ("big.bin", b"x" * 5000, "application/octet-stream")),
            ],
        )
    assert response.status_code == 413
    assert "'big.bin' is larger than 1000 bytes" in response.json()["detail"]
    assert seen == []  # the handler never ran
    assert leftovers(uploads) == []


async def test_too_many_files_is_413(app: Tidal, uploads: Path) -> None:
    files = [("attachments", (f"{i}.txt", b"x", "text/plain")) for i in range(4)]
    async with TestClient(app) as client:
        response = await client.post("/profile", data={"name": "x"}, files=files)
    assert response.status_code == 413
    assert "more than 3 files" in response.json()["detail"]
    assert leftovers(uploads) == []


async def test_a_streamed_body_over_max_body_size_is_413_midway(app: Tidal, uploads: Path) -> None:
    boundary = "tidalboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="avatar"; '
        'filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(50):  # 50 x 900 bytes: over max_body_size (20,000) while streaming
            yield b"y" * 900

    async with TestClient(app) as client:
        response = await client.post(
            "/profile",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
    assert response.status_code == 413
    assert leftovers(uploads) == []


async def test_a_large_field_is_413(make_app: AppFactory, saved: Path, seen: list[Any]) -> None:
    app = upload_app(make_app(form_max_field_size=100), saved, seen)
    async with TestClient(app) as client:
        response = await client.post(
            "/profile", data={"name": "n" * 101}, files={"avatar": ("a", b"a", "text/plain")}
        )
    assert response.status_code == 413
    assert "'name' is larger than 100 bytes" in response.json()["detail"]


async def test_malformed_multipart_is_400(app: Tidal, uploads: Path) -> None:
    async with TestClient(app) as client:
        no_boundary = await client.post(
            "/profile", content=b"x", headers={"content-type": "multipart/form-data"}
        )
        truncated = await client.post(
            "/profile",
            content=b'--b\r\nContent-Disposition: form-data; name="avatar"; filename="a"\r\n\r\nab',
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
    assert no_boundary.status_code == 400
    assert "no boundary" in no_boundary.json()["detail"]
    assert truncated.status_code == 400
    assert leftovers(uploads) == []


async def test_uploads_with_csrf_protection(
    secure_app: AppFactory, tmp_path: Path, saved: Path, seen: list[Any]
) -> None:
    uploads = tmp_path / "uploads"
    app = upload_app(secure_app(upload_dir=str(uploads), upload_max_file_size=100), saved, seen)

    @app.get("/token")
    async def issue_token(request: Request) -> str:
        return await get_csrf_token(request)

    async with TestClient(app) as client:
        token = (await client.get("/token")).text
        ok = await client.post(
            "/profile",
            data={"name": "x", "csrf_token": token},
            files={"avatar": ("a.txt", b"a" * 50, "text/plain")},
        )
        big = await client.post(
            "/profile",
            data={"name": "x", "csrf_token": token},
            files={"avatar": ("a.txt", b"a" * 500, "text/plain")},
        )
        missing = await client.post(
            "/profile", data={"name": "x"}, files={"avatar": ("a.txt", b"a", "text/plain")}
        )
    assert ok.status_code == 200
    assert big.status_code == 413
    assert missing.status_code == 403
    assert leftovers(uploads) == []


def test_limits_come_from_the_settings(make_app: AppFactory) -> None:
    settings = make_app(upload_max_files=2, form_max_fields=5, upload_dir="/tmp/x").settings
    limits = FormLimits.from_settings(settings)
    assert (limits.max_files, limits.max_fields, limits.upload_dir) == (2, 5, "/tmp/x")


async def test_urlencoded_limits(make_app: AppFactory) -> None:
    app = make_app(form_max_fields=3, form_max_field_size=10)

    @app.post("/f")
    async def f(request: Request) -> dict[str, list[str]]:
        data = await parse_form(request)
        return {key: data.getlist(key) for key in data}

    async with TestClient(app) as client:
        ok = await client.post("/f", content=b"a=1&a=2&b=%C3%A9", headers=_FORM)
        many = await client.post("/f", content=b"a=1&b=2&c=3&d=4", headers=_FORM)
        long = await client.post("/f", data={"a": "x" * 11})
        latin = await client.post("/f", content=b"a=%E9", headers=_FORM)
    assert ok.json() == {"a": ["1", "2"], "b": ["é"]}
    assert many.status_code == 413
    assert "more than 3 fields" in many.json()["detail"]
    assert long.status_code == 413
    assert latin.status_code == 400


_FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_form_data_mapping() -> None:
    data = FormData.from_mapping({"a": ["1", "2"], "b": "3"})
    assert dict(data) == {"a": "2", "b": "3"}
    assert data.getlist("a") == ["1", "2"]
    assert len(data) == 2
    assert repr(data) == "<FormData 3 fields, 0 files>"
