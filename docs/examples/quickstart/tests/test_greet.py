"""Tests of the greet endpoint."""


async def test_greet(client):
    response = await client.get("/api/greet/Ada", params={"excited": "true"})
    assert response.status_code == 200
    assert response.json() == {"greeting": "Hello, Ada!"}


async def test_greet_rejects_a_bad_flag(client):
    response = await client.get("/api/greet/Ada", params={"excited": "maybe"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"path": "excited", "message": "Expected `bool`, got `str`", "in": "query"}
    ]
