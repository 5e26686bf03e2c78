"""`Emulator`: start/stop one emulator in the current event loop (``async with Emulator() as e``).

Owns the aiohttp runner/site, the store, the lifecycle and the fault injector. Can be stopped and
started again on the same port and location (restart tests). Must never expose the account key
in repr or logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from .app import build_app, connection_guard, stats_of
from .auth import AuthConfig
from .connections import ConnectionGuard, ConnectionLimits, listen_backlog
from .constants import DEV_ACCOUNT, DEV_KEY
from .context import Context
from .datadir import NODES_DIRNAME, default_location
from .db import resolve_location
from .execute import ExecuteConfig, ProcessRunner
from .faults import FaultConfig, FaultInjector
from .guard import HostPolicy
from .lifecycle import Lifecycle, LifecycleConfig, Runner, SimClock, SimulatedRunner
from .nodefs import NodeFiles
from .store import Store

_MAX_PORT = 65535
_POOL = ExecuteConfig()
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Emulator:
    """A local emulator of the Azure Batch Task API.

    Args:
        host: interface to bind (loopback by default).
        port: TCP port; 0 picks a free one (see `url` after start).
        account: account name clients must sign for.
        key: base64 account key (never shown in repr).
        location: directory for the SQLite file (created; default: the per-user data folder of
            `batchtasks.emulator.datadir.default_location`, shared with the ``batchtasks``
            command line, unless `in_memory`).
        in_memory: keep everything in memory instead of a file (the pytest fixture does).
        faults: initial fault configuration (all off by default).
        run_tasks: simulate task execution (off: tasks stay ``active`` until terminated).
        clock_speed: simulated seconds per real second.
        task_seconds: simulated run time of a task without ``sleep N`` in its command line.
        accept_bearer: also accept ``Authorization: Bearer`` tokens (dev mode).
        bearer_token: the one accepted bearer token (None: any non-empty token).
        check_clock_skew: reject requests dated more than 15 minutes off.
        job_delete_delay: real seconds a deleted job stays in ``deleting``.
        execute: run each task's command line as a real local process (opt-in; the processes
            run as this user). Needs a loopback `host` and a real-time clock.
        nodes: virtual nodes of the executing pool.
        task_slots_per_node: task slots of each virtual node.
        kill_grace: seconds between SIGTERM and SIGKILL when a process is stopped.
        file_size_limit: largest file a task's process may write (stdout.txt included), bytes.
        allowed_hosts: ``Host`` names answered besides loopback ones and `host` (``"*"``: any);
            see `batchtasks.emulator.guard`.
        connection_limits: idle/head timeouts and the connection cap (`ConnectionLimits`).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        account: str = DEV_ACCOUNT,
        key: str = DEV_KEY,
        location: str | Path | None = None,
        in_memory: bool = False,
        faults: FaultConfig | None = None,
        run_tasks: bool = False,
        clock_speed: float = 1.0,
        task_seconds: float = 1.0,
        accept_bearer: bool = False,
        bearer_token: str | None = None,
        check_clock_skew: bool = True,
        job_delete_delay: float = 0.0,
        execute: bool = False,
        nodes: int = _POOL.nodes,
        task_slots_per_node: int = _POOL.task_slots_per_node,
        kill_grace: float = _POOL.kill_grace,
        file_size_limit: int = _POOL.file_size_limit,
        allowed_hosts: Iterable[str] = (),
        connection_limits: ConnectionLimits | None = None,
    ) -> None:
        if in_memory and location is not None:
            raise ValueError("choose either location or in_memory, not both")
        if not 0 <= port <= _MAX_PORT:
            raise ValueError(f"port must be 0 (any free port) to {_MAX_PORT}, got {port}")
        self._execute: ExecuteConfig | None = None
        if execute:
            if host not in _LOOPBACK:
                raise ValueError(
                    "execute runs the command lines sent to the API: it needs a loopback bind "
                    "(127.0.0.1, ::1 or localhost)"
                )
            if os.name != "posix":
                raise ValueError("execute needs a POSIX system (process groups, ulimit)")
            if clock_speed != 1.0:
                raise ValueError("execute runs tasks in real time: the clock speed must be 1")
            self._execute = ExecuteConfig(nodes, task_slots_per_node, kill_grace, file_size_limit)
            ProcessRunner(self._execute, NodeFiles(Path()), account)  # validates the pool now
            run_tasks = True
        self.host = host
        self.port = port
        self._auth = AuthConfig(
            account=account,
            key=key,
            accept_bearer=accept_bearer,
            bearer_token=bearer_token,
            check_skew=check_clock_skew,
        )
        self._db_path: Path | None = (
            None if in_memory else resolve_location(location or default_location())
        )
        self._injector = FaultInjector(faults or FaultConfig())
        self._lifecycle_config = LifecycleConfig(run_tasks=run_tasks, task_seconds=task_seconds)
        self._clock = SimClock(clock_speed)
        self._job_delete_delay = job_delete_delay
        self._host_policy = HostPolicy(host, allowed_hosts)
        self._connection_limits = connection_limits or ConnectionLimits()
        self._guard: ConnectionGuard | None = None
        self._server: asyncio.AbstractServer | None = None
        self._runner: web.AppRunner | None = None
        self._context: Context | None = None
        self._temp_nodes: Path | None = None

    def __repr__(self) -> str:
        where = "memory" if self._db_path is None else str(self._db_path.parent)
        state = self.url if self._runner is not None else "stopped"
        return f"Emulator(account={self.account!r}, url={state!r}, location={where!r})"

    # -- public properties --------------------------------------------------------------------

    @property
    def account(self) -> str:
        """The account name clients sign for."""
        return self._auth.account

    @property
    def key(self) -> str:
        """The base64 account key."""
        return self._auth.key

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (valid once started)."""
        return f"http://{self.host}:{self.port}"

    @property
    def location(self) -> Path | None:
        """The SQLite file, or None in memory."""
        return self._db_path

    @property
    def nodes(self) -> NodeFiles:
        """The virtual nodes' task directories (e.g. to place a file a test then downloads)."""
        return self._require_context().nodes

    @property
    def faults(self) -> FaultConfig:
        """The current fault configuration."""
        return self._injector.config

    def set_faults(self, config: FaultConfig | None = None, **changes: Any) -> FaultConfig:
        """Replace the fault configuration, or change some of its fields.

        Args:
            config: a complete new configuration (default: the current one).
            **changes: fields to change, e.g. ``throttle_rate=0.1``.

        Returns:
            The configuration now in force.
        """
        new = replace(config or self._injector.config, **changes)
        self._injector.configure(new)
        return new

    async def stats(self) -> dict[str, Any]:
        """Counters: requests, tasks added, ``faults`` injected by kind, stored jobs/tasks."""
        return await stats_of(self._require_context())

    async def reset(self) -> None:
        """Delete all jobs and tasks and zero all counters."""
        c = self._require_context()
        await c.store.reset()
        await asyncio.to_thread(c.nodes.remove_all)
        c.counters.reset()
        c.faults.reset_counts()

    async def advance(self, seconds: float) -> int:
        """Move the simulated clock forward and run one lifecycle step.

        Returns:
            The number of tasks whose state changed.
        """
        c = self._require_context()
        c.clock.advance(seconds)
        return await c.lifecycle.step()

    def _require_context(self) -> Context:
        if self._context is None:
            raise RuntimeError("the emulator is not running")
        return self._context

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store and start serving. Restartable after `stop` (same port/location)."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        store = Store(self._db_path)
        await store.open()
        nodes = NodeFiles(self._nodes_root())
        tasks_run_by: Runner = (
            SimulatedRunner(self._lifecycle_config, nodes)
            if self._execute is None
            else ProcessRunner(self._execute, nodes, self.account)
        )
        lifecycle = Lifecycle(store, self._clock, self._lifecycle_config, "", tasks_run_by)
        context = Context(
            auth=self._auth,
            store=store,
            faults=self._injector,
            clock=self._clock,
            lifecycle=lifecycle,
            nodes=nodes,
            job_delete_delay=self._job_delete_delay,
        )
        limit = max(self._injector.config.body_limit, 64 * 1024 * 1024)
        guard = connection_guard(self._connection_limits)
        app = build_app(
            context, client_max_size=limit, host_policy=self._host_policy, connections=guard
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False, **guard.app_settings())
        try:
            await runner.setup()
            assert runner.server is not None
            # Our own listening socket (not a TCPSite) so that every connection's protocol is
            # watched by the guard (timeouts, cap, Batch-shaped answers to malformed heads).
            server = await asyncio.get_running_loop().create_server(
                guard.protocol_factory(runner.server),
                self.host,
                self.port,
                reuse_address=True,
                backlog=listen_backlog(),
            )
        except BaseException:
            await runner.cleanup()
            await store.close()
            raise
        self.port = int(server.sockets[0].getsockname()[1])
        guard.start()
        lifecycle.base_url = self.url
        self._server = server
        self._guard = guard
        self._runner = runner
        self._context = context
        await self._purge_deleting_jobs(context)
        await lifecycle.start()

    def _nodes_root(self) -> Path:
        # Task files live beside the database; an in-memory emulator keeps them in a temporary
        # directory that lives as long as this object runs (removed at stop).
        if self._db_path is not None:
            return self._db_path.parent / NODES_DIRNAME
        if self._temp_nodes is None:
            self._temp_nodes = Path(tempfile.mkdtemp(prefix="batchtasks-emulator-nodes-"))
        return self._temp_nodes

    @staticmethod
    async def _purge_deleting_jobs(context: Context) -> None:
        # A job deleted just before a stop is finished off at the next start.
        jobs, _ = await context.store.list_jobs("state = ?", ["deleting"], None, 1_000_000)
        for job in jobs:
            with contextlib.suppress(Exception):
                await context.store.modify_job(job["id"], lambda _job: None)
                await asyncio.to_thread(context.nodes.remove_job, job["id"])

    async def stop(self) -> None:
        """Stop serving and close the store (idempotent)."""
        context, runner = self._context, self._runner
        server, guard = self._server, self._guard
        self._context = None
        self._runner = None
        self._server = self._guard = None
        if server is not None:
            server.close()  # no new connections; open ones are closed by the runner below
        if guard is not None:
            await guard.stop()
        if context is not None:
            await context.lifecycle.stop()
            for task in list(context.background):
                task.cancel()
            if context.background:
                await asyncio.gather(*context.background, return_exceptions=True)
        if runner is not None:
            await runner.cleanup()
        if server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)
        if context is not None:
            await context.store.close()
        if self._temp_nodes is not None:
            shutil.rmtree(self._temp_nodes, ignore_errors=True)
            self._temp_nodes = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
