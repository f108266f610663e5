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
import math
import time
from collections import OrderedDict, deque
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


class LoginThrottle:
    """Refuses a client address for `window_s` after `max_failures` wrong logins within `window_s`.

    Basic auth sends the password with every request, so without a limit anyone who reaches the port can try
    passwords as fast as the server answers.
    """

    def __init__(self, max_failures: int = 5, window_s: float = 60.0, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may try again (0: now)."""
        recent = self._recent(client)
        if len(recent) < self.max_failures:
            return 0
        return max(1, math.ceil(recent[-1] + self.window_s - self._clock()))

    def failed(self, client: str) -> None:
        """Count one wrong login."""
        recent = self._recent(client)
        recent.append(self._clock())
        self._failures[client] = recent
        self._failures.move_to_end(client)
        while len(self._failures) > self._max_clients:
            self._failures.popitem(last=False)  # a flood of addresses cannot grow this without bound

    def succeeded(self, client: str) -> None:
        """A right login clears the client's count."""
        self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        recent = self._failures.get(client, deque())
        while recent and recent[0] < self._clock() - self.window_s:
            recent.popleft()
        return recent


def protect(auth: SupervisorAuth, handler: Handler, refused: Callable[[int, str], web.Response],
            throttle: LoginThrottle | None = None) -> Handler:
    """Wrap a page handler: 403 when no password is configured, 401 (with a Basic challenge) on a bad login,
    429 for a client that failed too often lately (see LoginThrottle).

    `refused(status, message)` renders the refusal page, so it looks like the other pages.
    """
    limit = throttle or LoginThrottle()

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not auth.enabled:
            return refused(403, NOT_CONFIGURED)
        client = request.remote or "?"
        wait = limit.retry_after(client)
        if wait:
            response = refused(429, f"Too many failed logins from your address: try again in {wait} s.")
            response.headers["Retry-After"] = str(wait)
            return response
        if not auth.check_header(request.headers.get("Authorization")):
            if "Authorization" in request.headers:
                # Never the credentials themselves: only who tried and from where.
                _LOGGER.warning("supervisor login refused for %s from %s", request.path, request.remote)
                limit.failed(client)
            response = refused(401, "Log in with the supervisor user name and password.")
            response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
            return response
        limit.succeeded(client)
        return await handler(request)

    return guarded
