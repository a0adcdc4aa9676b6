"""Start-up checks with stable ids and hints; ``tidal check [--deploy]`` runs them alone."""

from tidal.checks import security as security
from tidal.checks.messages import CheckMessage, Error, Info, Level, Warning
from tidal.checks.registry import register, run_checks

__all__ = ["CheckMessage", "Error", "Info", "Level", "Warning", "register", "run_checks"]
