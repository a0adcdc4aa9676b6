"""The board app's routes: the HTML pages, and the JSON API under /api."""

from __future__ import annotations

from board import api, pages
from tidal import Router

router = Router()
router.include(pages.router)
router.include(api.router)

__all__ = ["router"]
