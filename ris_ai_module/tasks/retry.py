"""Retry as policy data plus one pure function (dcm4chee getRetryDelayInSeconds, procrastinate RetryStrategy)."""

from __future__ import annotations

from dataclasses import dataclass

from ris_ai_module.config.types import RetryConfig


@dataclass(frozen=True)
class RetryPolicy:
    initial: float = 30.0
    multiplier: float = 2.0
    max_delay: float = 600.0
    max_attempts: int = 20

    @classmethod
    def from_config(cls, cfg: RetryConfig) -> RetryPolicy:
        return cls(float(cfg.initial), cfg.multiplier, float(cfg.max_delay), cfg.max_attempts)

    def next_delay(self, attempts_made: int) -> float | None:
        """Seconds to wait after ``attempts_made`` failed attempts, or None to give up (-> FAILED)."""
        if attempts_made >= self.max_attempts:
            return None
        delay = self.initial * self.multiplier ** max(attempts_made - 1, 0)
        return min(delay, self.max_delay)
