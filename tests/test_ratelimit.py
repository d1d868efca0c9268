"""The token-guessing limiter (ratelimit.py), on a fake clock; over HTTP in test_attacks.py."""

from __future__ import annotations

from innograph.ratelimit import FailureLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_then_retry_after_until_the_oldest_failure_leaves_the_window():
    clock = Clock()
    limiter = FailureLimiter(3, 60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.failed("a")
        clock.now += 10
    assert limiter.retry_after("a") == 30  # first failure at 1000, now 1030: free at 1060
    assert limiter.retry_after("b") is None  # other clients are not affected
    clock.now += 29.5
    assert limiter.retry_after("a") == 1
    clock.now += 0.5
    assert limiter.retry_after("a") is None  # one failure left the window: 2 < 3


def test_memory_is_bounded():
    clock = Clock()
    limiter = FailureLimiter(1, 60, clients=100, clock=clock)
    for n in range(1000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._failures) == 100
    assert limiter.retry_after("10.0.3.231") == 60  # the most recent are kept
    clock.now += 61
    assert limiter.retry_after("10.0.3.231") is None
    assert len(limiter._failures) == 99
