"""The pytest plugin, as a user's project meets it: fixtures from the ``tidal_app`` option."""

import pytest

APP = """
from tidal import Tidal, WebSocket

app = Tidal(settings={"debug": True})

@app.get("/hello/{name}")
async def hello(name: str) -> dict[str, str]:
    return {"hello": name}

@app.websocket("/ws")
async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
"""

TESTS = """
async def test_hello(client):
    response = await client.get("/hello/ann")
    assert response.json() == {"hello": "ann"}

async def test_ws(ws):
    async with ws("/ws") as socket:
        await socket.send_text("ping")
        assert await socket.receive_text() == "ping"

async def test_fails_on_purpose(client):
    assert (await client.get("/hello/bo")).json() == {"hello": "nobody"}
"""


def test_plugin_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(myapp=APP, test_project=TESTS)
    pytester.makeini(
        "[pytest]\ntidal_app = myapp:app\nasyncio_mode = auto\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_fails_on_purpose*"])


def test_missing_app_is_explained(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="async def test_x(client):\n    pass\n")
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Could not find the application*TIDAL_APP*"])
