"""Declaring routes: methods, typed path parameters, names and reversing them."""

import uuid

from tidal import Request, Tidal

app = Tidal()


@app.get("/articles")
async def list_articles() -> list[dict[str, object]]:
    return [{"id": 1, "title": "Tides"}]


@app.post("/articles", status_code=201)
async def create_article() -> dict[str, int]:
    return {"id": 2}


@app.get("/articles/{article_id:int}")
async def show_article(article_id: int, request: Request) -> dict[str, object]:
    path = request.url_path_for("show_article", article_id=article_id)
    absolute = request.url_for("show_article", article_id=article_id)
    return {"id": article_id, "path": str(path), "absolute": str(absolute)}


@app.route("/articles/{article_id:int}/like", methods=["PUT", "DELETE"], name="like")
async def toggle_like(article_id: int, request: Request) -> dict[str, object]:
    return {"id": article_id, "liked": request.method == "PUT"}


@app.get("/files/{file_path:path}")
async def show_file(file_path: str) -> dict[str, str]:
    return {"path": file_path}


@app.get("/tags/{tag:slug}")
async def show_tag(tag: str) -> dict[str, str]:
    return {"tag": tag}


@app.get("/orders/{order_id:uuid}")
async def show_order(order_id: uuid.UUID) -> dict[str, str]:
    return {"order": order_id.hex}


@app.get("/prices/{amount:float}")
async def show_price(amount: float) -> dict[str, float]:
    return {"amount": amount}


@app.get("/pages/{number}")
async def show_page(number: int) -> dict[str, int]:
    # No converter: any segment matches, then the annotation validates it (422, not 404).
    return {"page": number}
