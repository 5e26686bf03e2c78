"""The state one running emulator shares between its middleware and route handlers.

A plain container: configuration, store, fault injector, clock, lifecycle and counters. Must not
contain behaviour beyond counting.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from .auth import AuthConfig
from .clock import SimClock
from .faults import FaultInjector
from .lifecycle import Lifecycle
from .nodefs import NodeFiles
from .store import Store


@dataclass
class Counters:
    """Request and task counters for ``GET /_emulator/stats`` (thread-safe increments)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    tasks_added: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)

    def request(self, operation: str, status: int) -> None:
        """Count one answered API request."""
        with self.lock:
            self.requests += 1
            self.by_operation[operation] += 1
            self.by_status[str(status)] += 1

    def added(self, n: int) -> None:
        """Count `n` tasks added."""
        with self.lock:
            self.tasks_added += n

    def reset(self) -> None:
        """Zero everything."""
        with self.lock:
            self.requests = 0
            self.tasks_added = 0
            self.by_operation.clear()
            self.by_status.clear()


@dataclass
class Context:
    """Everything a handler needs."""

    auth: AuthConfig
    store: Store
    faults: FaultInjector
    clock: SimClock
    lifecycle: Lifecycle
    nodes: NodeFiles
    job_delete_delay: float = 0.0
    counters: Counters = field(default_factory=Counters)
    background: set[asyncio.Task[None]] = field(default_factory=set)


CONTEXT = web.AppKey("batchtasks_emulator_context", Context)

#: Per-request values set by the middleware/handlers.
REQUEST_ID = web.RequestKey("batchtasks_request_id", str)
OPERATION = web.RequestKey("batchtasks_operation", str)
CLOSE_CONNECTION = web.RequestKey("batchtasks_close_connection", bool)
