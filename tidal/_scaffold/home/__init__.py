"""The home app: the welcome page and a health endpoint.

An app is a package that may hold routes.py (a `router`), templates/, static/, models.py
and commands.py; list it in `Tidal(apps=[...])` in app.py to install it.
"""
