"""Token guessing: unknown bearer tokens counted per client, 429 beyond a limit.

Tokens are 256-bit random (tokens.py), so guessing one is hopeless anyway; counting failures still
keeps a scanner from hammering the token check and makes the attempt visible in the log. A client
(its IP address as the server sees it: behind a reverse proxy, the proxy's, unless the proxy
limits too) that presents more than ``AUTH_FAILURES`` unknown tokens within ``AUTH_WINDOW``
seconds gets ``429 Too Many Requests`` with ``Retry-After`` for every token, valid or not, until
its oldest failure leaves the window: a correct guess during the lock-out would tell nothing.
Missing tokens are not counted (that is a 401 without a guess).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class FailureLimiter:
    """Failures per client in a sliding window of ``window`` seconds; at most ``limit`` allowed."""

    def __init__(self, limit: int, window: float, *, clients: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clients = clients  # clients remembered at most (the least recently failing are forgotten)
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None if it may now."""
        with self._lock:
            failures = self._recent(client)
            if len(failures) < self.limit:
                return None
            return max(1, math.ceil(failures[len(failures) - self.limit] + self.window - self.clock()))

    def failed(self, client: str) -> None:
        """Count one unknown token from ``client``."""
        with self._lock:
            failures = self._recent(client)
            failures.append(self.clock())
            self._failures[client] = failures
            self._failures.move_to_end(client)
            while len(self._failures) > self.clients:
                self._failures.popitem(last=False)
            if len(failures) == self.limit:
                log.warning("%d unknown contribution tokens from %s within %g s: refused (429) until the window passes",
                            self.limit, client, self.window)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client, deque())
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            self._failures.pop(client, None)
        return failures
