"""Injection by type: the request, the settings, the application and your own providers."""

import itertools

from tidal import Request, Settings, Tidal


class Clock:
    """A service handlers receive by annotating a parameter with its type."""

    def __init__(self) -> None:
        self.ticks = itertools.count(1)

    def tick(self) -> int:
        return next(self.ticks)


clock = Clock()
app = Tidal()
app.provide(Clock, lambda: clock)


@app.get("/about")
async def about(request: Request, settings: Settings, tidal: Tidal) -> dict[str, object]:
    return {
        "path": request.url.path,
        "request_id": request.request_id,
        "debug": settings.debug,
        "same_app": tidal is app,
    }


@app.get("/tick")
async def tick(clock: Clock) -> dict[str, int]:
    return {"tick": clock.tick()}


@app.get("/untyped")
async def untyped(request, name="world"):  # type: ignore[no-untyped-def]
    # Without annotations, ``request`` is the Request and other names are query strings.
    return {"method": request.method, "name": name}
