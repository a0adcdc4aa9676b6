"""Settings: one validated ``Settings`` object per application, loaded at construction."""

from tidal.conf.env import load_settings
from tidal.conf.settings import Settings

__all__ = ["Settings", "load_settings"]
