"""Protections on by default: allowed hosts, security headers, CSRF, rate limits, origin
checks for WebSockets, and signing. docs/topics/security.md describes each one, what it
defends against and how to turn it off on purpose.

Importing this package registers the security start-up checks (``tidal.security.checks``).
"""

from tidal.security import checks as checks
from tidal.security.csrf import CsrfToken as CsrfToken
from tidal.security.csrf import csrf_exempt as csrf_exempt
from tidal.security.csrf import get_csrf_token as get_csrf_token
from tidal.security.origins import authenticate_websocket as authenticate_websocket
from tidal.security.origins import check_origin as check_origin
from tidal.security.origins import websocket_session as websocket_session
from tidal.security.protections import build_protections as build_protections
from tidal.security.protections import install as install
from tidal.security.ratelimit import LoginThrottle as LoginThrottle
from tidal.security.ratelimit import login_throttle as login_throttle
from tidal.security.ratelimit import rate_limit as rate_limit
from tidal.security.signing import BadSignature as BadSignature
from tidal.security.signing import SignatureExpired as SignatureExpired
from tidal.security.signing import Signer as Signer
from tidal.security.signing import TimestampSigner as TimestampSigner

__all__ = [
    "BadSignature",
    "CsrfToken",
    "LoginThrottle",
    "SignatureExpired",
    "Signer",
    "TimestampSigner",
    "authenticate_websocket",
    "build_protections",
    "check_origin",
    "checks",
    "csrf_exempt",
    "get_csrf_token",
    "install",
    "login_throttle",
    "rate_limit",
    "websocket_session",
]
