"""Login for the supervisor pages: HTTP Basic auth against the configured supervisor user and password.

Basic auth is what a browser asks for by itself when the handoff link (`{public_url}/calls/<id>`) is opened
directly, and what curl sends with `-u`, so no login form, session cookie or CSRF handling is needed. With no
password configured every page is refused (403): the pages are never open by default.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REALM = "ari-agent supervisor"
PASSWORD_ENV = "ARI_AGENT_HTTP_SUPERVISOR_PASSWORD"
NOT_CONFIGURED = (
    "The supervisor pages are disabled because no supervisor password is configured. "
    f"Set {PASSWORD_ENV} in the agent's environment (or http.supervisor_password in its TOML file) "
    "and restart the agent; log in as the user http.supervisor_user (default 'supervisor')."
)


def _digest(value: str) -> bytes:
    # Comparing fixed-length digests keeps the comparison time independent of the secret's length too.
    return hashlib.sha256(value.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class SupervisorAuth:
    """The configured supervisor credentials; `password == ""` means the pages are disabled."""

    user: str
    password: str = field(repr=False)

    @property
    def enabled(self) -> bool:
        """True when a password is configured."""
        return bool(self.password)

    def check_header(self, header: str | None) -> bool:
        """True when an Authorization header carries the right Basic credentials (constant-time compare)."""
        if not self.enabled or not header:
            return False
        scheme, _, encoded = header.strip().partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return False
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            return False
        try:
            decoded = raw.decode("utf-8")  # what browsers send after a challenge with charset="UTF-8"
        except UnicodeDecodeError:
            decoded = raw.decode("latin-1")  # older clients (and curl on a latin-1 terminal)
        user, sep, password = decoded.partition(":")
        if not sep:
            return False
        # Both comparisons always run, so timing does not tell whether the user name was right.
        user_ok = hmac.compare_digest(_digest(user), _digest(self.user))
        password_ok = hmac.compare_digest(_digest(password), _digest(self.password))
        return user_ok & password_ok


def protect(auth: SupervisorAuth, handler: Handler, refused: Callable[[int, str], web.Response]) -> Handler:
    """Wrap a page handler: 403 when no password is configured, 401 (with a Basic challenge) on a bad login.

    `refused(status, message)` renders the refusal page, so it looks like the other pages.
    """

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not auth.enabled:
            return refused(403, NOT_CONFIGURED)
        if not auth.check_header(request.headers.get("Authorization")):
            if "Authorization" in request.headers:
                # Never the credentials themselves: only who tried and from where.
                _LOGGER.warning("supervisor login refused for %s from %s", request.path, request.remote)
            response = refused(401, "Log in with the supervisor user name and password.")
            response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
            return response
        return await handler(request)

    return guarded
