"""Django peer: a project as ``django-admin startproject`` makes it (default middleware,
so CSRF, clickjacking and the security headers are on, like Tidal's), the ORM and
templates. ``wsgi.py`` serves the sync views under gunicorn; ``asgi.py`` serves async
views (the async ORM API) under uvicorn."""
