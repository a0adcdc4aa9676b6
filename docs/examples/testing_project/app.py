from tidal import Tidal

app = Tidal()


@app.get("/")
async def index() -> dict[str, str]:
    return {"message": "Hello from Tidal"}
