"""The notes app: a package Tidal installs with ``Tidal(apps=["notes"])``."""
