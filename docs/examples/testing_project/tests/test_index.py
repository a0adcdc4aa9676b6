from tidal.testing import TestClient


async def test_index(client: TestClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello from Tidal"}
