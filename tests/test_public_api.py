"""``tidal.__all__`` is the curated public surface: sorted, complete and importable."""

import tidal


def test_all_is_sorted_and_importable() -> None:
    assert tidal.__all__ == sorted(tidal.__all__)
    for name in tidal.__all__:
        assert getattr(tidal, name) is not None, name


def test_public_names() -> None:
    assert set(tidal.__all__) == {
        "AppConfig",
        "Body",
        "Cookie",
        "Depends",
        "HTMLResponse",
        "HTTPError",
        "Header",
        "JSONResponse",
        "Middleware",
        "Query",
        "Request",
        "Response",
        "Router",
        "Settings",
        "StreamingResponse",
        "Tidal",
        "WebSocket",
        "WebSocketDisconnect",
        "redirect",
        "render",
    }


def test_every_subpackage_declares_all() -> None:
    import importlib
    import pkgutil

    missing = []
    for info in pkgutil.walk_packages(tidal.__path__, "tidal."):
        if info.name.startswith(("tidal._scaffold", "tidal.testing.plugin")) or (
            # an app's generated migration scripts are not API (tidal.db.migrations is)
            ".migrations" in info.name and not info.name.startswith("tidal.db.")
        ):
            continue
        module = importlib.import_module(info.name)
        if not hasattr(module, "__all__"):
            missing.append(info.name)
    assert missing == []
