"""Fault injection: what can go wrong on purpose, how often, and counters of what did.

All faults are off by default. Decisions come from one `random.Random(seed)` so a run with a seed
is reproducible (for a given order of requests). This module decides; `app.py`/`routes.py` act
on the decisions. Must not do I/O or sleep itself.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .constants import DEFAULT_BODY_LIMIT


@dataclass(frozen=True)
class FaultConfig:
    """Faults to inject. Rates are probabilities in [0, 1]; all default to off.

    Attributes:
        seed: seed of the fault RNG (None: nondeterministic).
        latency_ms: fixed delay added before every API request is handled.
        latency_jitter_ms: extra uniform random delay in [0, jitter) ms.
        task_server_error_rate: per task of an add_collection, answer ``servererror`` instead
            of adding it.
        server_error_rate: whole API request answered 500 InternalError (nothing done).
        server_busy_rate: whole API request answered 503 ServerBusy with Retry-After.
        throttle_rate: whole API request answered 429 TooManyRequests with Retry-After.
        retry_after_seconds: the Retry-After value of 429/503 faults.
        drop_after_commit_rate: a write request is carried out and committed, then the
            connection is closed without any response.
        body_limit: request bodies must be strictly smaller than this many bytes (413 otherwise).
    """

    seed: int | None = None
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    task_server_error_rate: float = 0.0
    server_error_rate: float = 0.0
    server_busy_rate: float = 0.0
    throttle_rate: float = 0.0
    retry_after_seconds: int = 1
    drop_after_commit_rate: float = 0.0
    body_limit: int = DEFAULT_BODY_LIMIT

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name.endswith("_rate"):
                value = getattr(self, f.name)
                if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                    raise ValueError(f"{f.name} must be a number in [0, 1]")
        for value in (self.latency_ms, self.latency_jitter_ms):
            if not math.isfinite(value) or value < 0:
                raise ValueError("latency must be a finite number >= 0")
        if self.retry_after_seconds < 0:
            raise ValueError("retry_after_seconds must not be negative")
        if self.body_limit < 1:
            raise ValueError("body_limit must be positive")

    def to_json(self) -> dict[str, Any]:
        """Return the configuration as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], base: FaultConfig | None = None) -> FaultConfig:
        """Build a config from JSON, starting from `base` (partial updates allowed).

        Raises:
            ValueError: unknown key or invalid value.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        for key, value in data.items():
            if key == "seed":
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                    raise ValueError("seed must be an integer or null")
            elif key in ("retry_after_seconds", "body_limit"):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError(f"{key} must be an integer")
            elif not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{key} must be a number")
        return replace(base or cls(), **data)


#: Names of the counters in `FaultInjector.counts` (fault kinds).
FAULT_KINDS = (
    "latency",
    "task_server_error",
    "server_error",
    "server_busy",
    "throttle",
    "drop_after_commit",
    "body_too_large",
)


class FaultInjector:
    """Draws fault decisions from a seeded RNG and counts what was injected.

    Thread-safe (the counters are read by the admin endpoint and tests from any thread).
    """

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.config = config or FaultConfig()
        self._rng = random.Random(self.config.seed)

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration and reseed the RNG."""
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)

    def reset_counts(self) -> None:
        """Zero all fault counters."""
        with self._lock:
            self.counts.clear()

    def count(self, kind: str, n: int = 1) -> None:
        """Record `n` injected faults of `kind`."""
        with self._lock:
            self.counts[kind] += n

    def latency(self) -> float:
        """Seconds to delay this request (0 when the latency fault is off)."""
        cfg = self.config
        if cfg.latency_ms <= 0 and cfg.latency_jitter_ms <= 0:
            return 0.0
        with self._lock:
            jitter = self._rng.random() * cfg.latency_jitter_ms
            self.counts["latency"] += 1
        return (cfg.latency_ms + jitter) / 1000.0

    def request_fault(self) -> str | None:
        """Decide a whole-request fault: ``server_error``, ``server_busy``, ``throttle`` or None."""
        cfg = self.config
        for kind, rate in (
            ("server_error", cfg.server_error_rate),
            ("server_busy", cfg.server_busy_rate),
            ("throttle", cfg.throttle_rate),
        ):
            if rate > 0:
                with self._lock:
                    hit = self._rng.random() < rate
                    if hit:
                        self.counts[kind] += 1
                if hit:
                    return kind
        return None

    def task_server_errors(self, n: int) -> list[bool]:
        """For `n` tasks of one add_collection, which ones get a ``servererror`` result."""
        rate = self.config.task_server_error_rate
        if rate <= 0:
            return [False] * n
        with self._lock:
            hits = [self._rng.random() < rate for _ in range(n)]
            self.counts["task_server_error"] += sum(hits)
        return hits

    def drop_after_commit(self) -> bool:
        """Whether to close this write request's connection after committing it."""
        rate = self.config.drop_after_commit_rate
        if rate <= 0:
            return False
        with self._lock:
            hit = self._rng.random() < rate
            if hit:
                self.counts["drop_after_commit"] += 1
        return hit

    def snapshot(self) -> dict[str, int]:
        """Counts of injected faults by kind (every kind present, zeros included)."""
        with self._lock:
            return {kind: self.counts.get(kind, 0) for kind in FAULT_KINDS}
