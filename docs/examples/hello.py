"""The smallest Tidal application: one JSON endpoint and one with a path parameter.

Run it from this folder with ``TIDAL_DEBUG=true uvicorn hello:app``.
"""

from tidal import Tidal

app = Tidal()


@app.get("/")
async def index() -> dict[str, str]:
    return {"message": "Hello from Tidal"}


@app.get("/hello/{name}")
async def hello(name: str, excited: bool = False) -> str:
    return f"Hello, {name}{'!' if excited else '.'}"
