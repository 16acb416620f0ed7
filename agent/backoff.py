"""Reconnect delays: exponential ceiling with full jitter, so a fleet does not return in step."""

from __future__ import annotations

import random


class Backoff:
    """Delay n is uniform in [0, min(cap, initial * 2**n)] ("full jitter"); reset on success."""

    def __init__(self, initial_s: float, cap_s: float, rng: random.Random | None = None) -> None:
        if initial_s <= 0 or cap_s < initial_s:
            raise ValueError("backoff: need 0 < initial_s <= cap_s")
        self.initial_s = initial_s
        self.cap_s = cap_s
        self.attempts = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        """The largest delay the next failure may wait."""
        # min() before the power would overflow after ~1000 failures; cap the exponent instead.
        return min(self.cap_s, self.initial_s * 2 ** min(self.attempts, 60))

    def next_delay(self) -> float:
        """The delay after one more failure."""
        delay = self._rng.uniform(0, self.ceiling())
        self.attempts += 1
        return delay

    def reset(self) -> None:
        """Forget past failures (after a successful connection)."""
        self.attempts = 0
