"""The home app's routes: an HTML page and a JSON endpoint."""

from tidal import HTMLResponse, Request, Router, render

router = Router()


@router.get("/", include_in_schema=False)
async def index(request: Request) -> HTMLResponse:
    """The welcome page, rendered from home/templates/home/index.html."""
    return await render(request, "home/index.html", {"title": "Welcome"})


@router.get("/api/health")
async def health() -> dict[str, str]:
    """A liveness check for load balancers and uptime monitors."""
    return {"status": "ok"}


@router.get("/api/greet/{name}")
async def greet(name: str, excited: bool = False) -> dict[str, str]:
    """Greet someone by name: /api/greet/Ada?excited=true."""
    return {"greeting": f"Hello, {name}{'!' if excited else '.'}"}
