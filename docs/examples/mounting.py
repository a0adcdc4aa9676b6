"""Mounting: a second Tidal application and a plain ASGI application below a prefix."""

from tidal import Tidal
from tidal.types import Receive, Scope, Send

reports = Tidal()


@reports.get("/")
async def reports_index() -> dict[str, str]:
    return {"app": "reports"}


@reports.get("/daily/{day}")
async def daily(day: str) -> dict[str, str]:
    return {"report": day}


async def legacy(scope: Scope, receive: Receive, send: Send) -> None:
    """Any ASGI application; it sees the full path and the prefix as ``root_path``."""
    body = f"legacy path={scope['path']} root_path={scope['root_path']}".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app = Tidal()
app.mount("/reports", reports, name="reports")
app.mount("/legacy", legacy, name="legacy")


@app.get("/")
async def home() -> dict[str, str]:
    return {"daily": app.url_path_for("reports:daily", day="monday")}
