"""A small app served by a real uvicorn in tests/integration/test_real_server.py."""

import msgspec

from tidal import Tidal

app = Tidal(
    settings={
        "secret_key": "integration-" + "s3cr3t-K3y!" * 5,
        "allowed_hosts": ["127.0.0.1", "localhost"],
        "max_body_size": 4096,
    }
)


class Note(msgspec.Struct):
    text: str
    stars: int


@app.post("/notes", status_code=201)
async def create(note: Note) -> Note:
    return note


@app.get("/ok")
async def ok() -> dict[str, bool]:
    return {"ok": True}


@app.get("/boom")
async def boom() -> None:
    raise RuntimeError("kaboom")
