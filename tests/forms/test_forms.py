"""Forms through real requests: validation, re-rendering with errors and the submitted
values, validators, CSRF fields, flash messages after a redirect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import msgspec
import pytest

from tests.forms.support import csrf_token
from tidal import HTMLResponse, Request, Response, Tidal, redirect
from tidal.forms import Field, Form, Submitted, flash, validator
from tidal.templates import render
from tidal.testing import TestClient

AppFactory = Callable[..., Tidal]
Templates = Callable[..., str]

PAGES = {
    "signup.html": '<form method="post" enctype="{{ form.enctype }}">{{ form }}</form>',
    "welcome.html": (
        '{% for m in get_flashed_messages() %}<p class="{{ m.level }}">{{ m }}</p>'
        "{% endfor %}Welcome"
    ),
}


class SignupForm(Form):
    email: Annotated[str, Field(widget="email", label="E-mail")]
    name: Annotated[str, msgspec.Meta(max_length=40)]
    age: Annotated[int, msgspec.Meta(ge=13)]
    password: Annotated[str, msgspec.Meta(min_length=8), Field(widget="password")]
    plan: Literal["free", "pro"] = "free"
    newsletter: bool = False

    @validator("email")
    async def email_address(self, value: str) -> str:
        if "@" not in value:
            raise ValueError("Enter an email address.")
        return value.lower()

    async def clean(self) -> None:
        if self.name.lower() in self.password.lower():
            self.add_error("password", "The password must not contain your name.")


def signup_app(app: Tidal) -> Tidal:
    @app.get("/signup")
    async def show(request: Request) -> HTMLResponse:
        return await render(request, "signup.html", {"form": SignupForm()})

    @app.post("/signup")
    async def submit(request: Request, form: Submitted[SignupForm]) -> Response:
        if not form.is_valid:
            return await render(request, "signup.html", {"form": form}, status_code=422)
        await flash(request, f"Welcome, {form.name}! Plan: {form.plan}.", "success")
        return redirect("/welcome")

    @app.get("/welcome")
    async def welcome(request: Request) -> HTMLResponse:
        return await render(request, "welcome.html")

    return app


@pytest.fixture
def app(secure_app: AppFactory, templates: Templates) -> Tidal:
    return signup_app(secure_app(apps=(templates(PAGES),)))


VALID = {
    "email": "Ada@Example.com",
    "name": "Ada",
    "age": "36",
    "password": "correct horse",
    "plan": "pro",
}


async def test_an_unbound_form_carries_the_csrf_field(app: Tidal) -> None:
    async with TestClient(app) as client:
        page = await client.get("/signup")
    assert page.status_code == 200
    html = page.text
    assert html.index('name="csrf_token"') < html.index('name="email"')
    assert '<input type="email" name="email" id="id_email" required>' in html
    assert '<label for="id_email">E-mail</label>' in html
    assert '<option value="free" selected>free</option>' in html
    assert 'enctype="application/x-www-form-urlencoded"' in html
    assert "tidal_session=" in page.headers["set-cookie"]


async def test_invalid_submission_is_re_rendered_with_errors_and_values(app: Tidal) -> None:
    async with TestClient(app) as client:
        token = csrf_token((await client.get("/signup")).text)
        response = await client.post(
            "/signup",
            data={
                "csrf_token": token,
                "email": "not-an-address",
                "name": '"><script>alert(1)</script>',
                "age": "12",
                "password": "short",
                "plan": "gold",
            },
        )
    assert response.status_code == 422
    html = response.text
    assert "Enter an email address." in html
    assert "Enter a value of at least 13." in html
    assert "Enter at least 8 characters." in html
    assert "Select a valid choice; &#39;gold&#39; is not one of the choices." in html
    # what the user typed comes back, escaped, except the password
    assert 'value="not-an-address"' in html
    assert 'value="12"' in html
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert "<script>" not in html
    assert 'name="password" id="id_password" aria-invalid="true"' in html
    assert "short" not in html.split('id="id_password"')[1].split(">")[0]
    # a fresh CSRF token for the next attempt
    assert csrf_token(html) != token


async def test_cross_field_check_runs_after_fields_are_valid(app: Tidal) -> None:
    async with TestClient(app) as client:
        token = csrf_token((await client.get("/signup")).text)
        response = await client.post(
            "/signup", data={**VALID, "password": "ada-rules-ok", "csrf_token": token}
        )
    assert response.status_code == 422
    assert "The password must not contain your name." in response.text


async def test_valid_submission_redirects_and_the_flash_survives_once(app: Tidal) -> None:
    async with TestClient(app) as client:
        token = csrf_token((await client.get("/signup")).text)
        response = await client.post("/signup", data={**VALID, "csrf_token": token})
        assert response.status_code == 303
        assert response.headers["location"] == "/welcome"
        first = await client.get("/welcome")
        again = await client.get("/welcome")
    assert '<p class="success">Welcome, Ada! Plan: pro.</p>' in first.text
    assert again.text == "Welcome"


async def test_post_without_the_token_is_refused(app: Tidal) -> None:
    async with TestClient(app) as client:
        await client.get("/signup")
        response = await client.post("/signup", data=VALID)
    assert response.status_code == 403
    assert "CSRF token is missing" in response.json()["detail"]


async def test_every_app_renders_the_csrf_field(make_app: AppFactory, templates: Templates) -> None:
    """Sessions and CSRF are always on, so a plain app's forms carry the token and a
    post without it is refused."""
    app = signup_app(make_app(apps=(templates(PAGES),)))
    async with TestClient(app) as client:
        page = await client.get("/signup")
        response = await client.post("/signup", data={**VALID, "age": "x"})
    assert 'name="csrf_token"' in page.text
    assert response.status_code == 403


class SearchForm(Form):
    q: str = ""
    page: Annotated[int, msgspec.Meta(ge=1)] = 1


async def test_a_get_form_reads_the_query_string(make_app: AppFactory) -> None:
    app = make_app()

    @app.get("/search")
    async def search(form: Submitted[SearchForm]) -> dict[str, object]:
        return {"valid": form.is_valid, "q": form.q, "page": form.page, "errors": form.errors}

    async with TestClient(app) as client:
        good = await client.get("/search", params={"q": "tide", "page": "2"})
        bad = await client.get("/search", params={"page": "0"})
    assert good.json() == {"valid": True, "q": "tide", "page": 2, "errors": {}}
    assert bad.json()["errors"] == {"page": ["Enter a value of at least 1."]}


async def test_a_json_body_is_not_a_form(make_app: AppFactory) -> None:
    app = signup_app(make_app())
    async with TestClient(app) as client:
        response = await client.post("/signup", json=VALID)
    assert response.status_code == 415
    assert "Expected a form body" in response.json()["detail"]


async def test_forms_by_hand(make_app: AppFactory) -> None:
    app = make_app()

    @app.post("/manual")
    async def manual(request: Request) -> dict[str, object]:
        form = await SignupForm.from_request(request, context={"source": "api"})
        if form.is_valid and form.email.endswith("@example.com"):
            form.add_error("email", "That address is taken.")
        return {"valid": form.is_valid, "errors": form.errors, "context": form.context}

    async with TestClient(app) as client:
        response = await client.post("/manual", data=VALID)
    assert response.json() == {
        "valid": False,
        "errors": {"email": ["That address is taken."]},
        "context": {"source": "api"},
    }


async def test_form_state_in_python() -> None:
    unbound = SignupForm(initial={"name": "Grace"})
    assert not unbound.is_bound
    assert await unbound.validate() is False
    assert unbound.errors == {}
    assert unbound["name"].value == "Grace"
    form = SignupForm({**VALID, "newsletter": "on"})
    assert await form.validate()
    assert (form.email, form.age, form.newsletter) == ("ada@example.com", 36, True)
    assert form.cleaned["plan"] == "pro"
    assert repr(form) == "<SignupForm valid>"
    assert [field.name for field in form] == [
        "email",
        "name",
        "age",
        "password",
        "plan",
        "newsletter",
    ]
    with pytest.raises(KeyError, match="no field 'nope'"):
        form["nope"]
