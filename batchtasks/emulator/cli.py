"""Command line of the emulator: ``python -m batchtasks.emulator`` (and ``batchtasks emulator``).

`build_parser()` + `main(argv) -> int` so the ``batchtasks`` CLI can delegate. Prints one line
with the URL and where the data lives once listening, then serves until Ctrl-C / SIGTERM;
``reset`` wipes a data folder instead (`batchtasks.emulator.reset_cli`). Bad arguments end with
one line and exit code 2, never a traceback. Must never print the key unless asked to (it is the
public dev key by default, but a user-supplied key is a secret).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import Final

from .connections import ConnectionLimits
from .constants import DEV_ACCOUNT, DEV_KEY
from .datadir import LOCATION_ENV, default_location
from .execute import ExecuteConfig
from .faults import FaultConfig
from .safeargs import SecretSafeArgumentParser
from .server import Emulator

#: Environment variables for the secrets (a command line is visible to every user via ps).
ENV_KEY: Final = "BATCHTASKS_EMULATOR_KEY"
ENV_BEARER_TOKEN: Final = "BATCHTASKS_EMULATOR_BEARER_TOKEN"  # noqa: S105 - a name


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 (any free port) to 65535, got {value}")
    return value


PROG = "python -m batchtasks.emulator"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The argument parser (exposed for the ``batchtasks emulator`` subcommand)."""
    p = SecretSafeArgumentParser(
        prog=prog,
        description="Local emulator of the Azure Batch Task REST API (api-versions "
        "2022-10-01.16.0 to 2025-06-01). Admin endpoints: /_emulator/faults, /_emulator/stats, "
        "/_emulator/reset, /_emulator/advance, /_emulator/openapi.json. "
        f"'{prog} reset' deletes the jobs and tasks kept in a data folder.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=_port, default=0, help="TCP port 0-65535 (default 0: any free port)"
    )
    p.add_argument("--account", default=DEV_ACCOUNT, help=f"account name (default {DEV_ACCOUNT})")
    p.add_argument(
        "--key",
        default=None,
        help=f"base64 account key (prefer ${ENV_KEY}: command lines are visible to ps; "
        "default: the documented dev key)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--location",
        default=None,
        help="directory for the SQLite database (default: the per-user data folder the "
        f"batchtasks command line uses, or ${LOCATION_ENV}; now {default_location()})",
    )
    where.add_argument("--in-memory", action="store_true", help="keep data in memory only")
    p.add_argument(
        "--run-tasks",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="simulate task execution (default: tasks stay active until terminated)",
    )
    p.add_argument(
        "--execute",
        action="store_true",
        help="run task command lines as real local processes, as this user (loopback only)",
    )
    pool = ExecuteConfig()
    p.add_argument("--nodes", type=int, default=pool.nodes, help="--execute: virtual nodes")
    p.add_argument(
        "--task-slots-per-node", type=int, default=pool.task_slots_per_node, help="slots per node"
    )
    p.add_argument("--clock-speed", type=float, default=1.0, help="simulated seconds per second")
    p.add_argument("--task-seconds", type=float, default=1.0, help="default simulated task time")
    p.add_argument(
        "--accept-bearer",
        nargs="?",
        const="",
        default=None,
        metavar="TOKEN",
        help="dev mode: also accept Bearer tokens (any non-empty one, or only TOKEN; prefer "
        f"${ENV_BEARER_TOKEN}, which turns this on for that one token)",
    )
    net = p.add_argument_group("network limits (see docs/reliability.md)")
    net.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host is NAME (repeatable; '*' for any). Loopback "
        "names and the --host address are always answered.",
    )
    defaults = ConnectionLimits()
    net.add_argument(
        "--idle-timeout",
        type=float,
        default=defaults.idle_timeout,
        help=f"close a connection idle this many seconds (default {defaults.idle_timeout:g})",
    )
    net.add_argument(
        "--head-timeout",
        type=float,
        default=defaults.head_timeout,
        help="close a connection whose request head takes longer than this many seconds "
        f"(default {defaults.head_timeout:g})",
    )
    net.add_argument(
        "--max-connections",
        type=int,
        default=None,
        help="open connections at most (default: 1000, or the open-file limit minus 64)",
    )
    p.add_argument(
        "--no-clock-skew-check",
        action="store_true",
        help="accept requests whose ocp-date is more than 15 minutes off",
    )
    f = p.add_argument_group("fault injection (all off by default)")
    f.add_argument("--fault-seed", type=int, default=None)
    f.add_argument("--latency-ms", type=float, default=0.0)
    f.add_argument("--latency-jitter-ms", type=float, default=0.0)
    f.add_argument("--task-server-error-rate", type=float, default=0.0)
    f.add_argument("--server-error-rate", type=float, default=0.0)
    f.add_argument("--server-busy-rate", type=float, default=0.0)
    f.add_argument("--throttle-rate", type=float, default=0.0)
    f.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds of 429/503")
    f.add_argument("--drop-after-commit-rate", type=float, default=0.0)
    f.add_argument("--body-limit", type=int, default=FaultConfig().body_limit)
    return p


def emulator_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Emulator:
    """Build an `Emulator` from parsed arguments (and the secrets' environment variables).

    Args:
        args: parsed arguments.
        env: the environment (default `os.environ`): ``BATCHTASKS_EMULATOR_KEY`` is the key
            unless ``--key`` is given; ``BATCHTASKS_EMULATOR_BEARER_TOKEN`` accepts that bearer
            token unless ``--accept-bearer`` is given.

    Raises:
        ValueError: invalid fault, network or location settings.
    """
    env = os.environ if env is None else env
    accept_bearer = args.accept_bearer
    if accept_bearer is None and env.get(ENV_BEARER_TOKEN):
        accept_bearer = env[ENV_BEARER_TOKEN]
    faults = FaultConfig(
        seed=args.fault_seed,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        task_server_error_rate=args.task_server_error_rate,
        server_error_rate=args.server_error_rate,
        server_busy_rate=args.server_busy_rate,
        throttle_rate=args.throttle_rate,
        retry_after_seconds=args.retry_after,
        drop_after_commit_rate=args.drop_after_commit_rate,
        body_limit=args.body_limit,
    )
    return Emulator(
        host=args.host,
        port=args.port,
        account=args.account,
        key=args.key if args.key is not None else env.get(ENV_KEY) or DEV_KEY,
        location=None if args.in_memory else (args.location or default_location()),
        in_memory=args.in_memory,
        faults=faults,
        run_tasks=args.run_tasks,
        clock_speed=args.clock_speed,
        task_seconds=args.task_seconds,
        accept_bearer=accept_bearer is not None,
        bearer_token=accept_bearer or None,
        check_clock_skew=not args.no_clock_skew_check,
        execute=args.execute,
        nodes=args.nodes,
        task_slots_per_node=args.task_slots_per_node,
        allowed_hosts=args.allowed_host,
        connection_limits=ConnectionLimits(
            idle_timeout=args.idle_timeout,
            head_timeout=args.head_timeout,
            max_connections=args.max_connections,
        ),
    )


async def serve(emulator: Emulator, ready_message: bool = True) -> None:
    """Run `emulator` until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        if emulator.host not in ("127.0.0.1", "::1", "localhost"):
            print(
                "batchtasks emulator: warning: listening beyond loopback; the /_emulator/ admin "
                "endpoints have no authentication",
                file=sys.stderr,
                flush=True,
            )
        if ready_message:
            where = "in memory" if emulator.location is None else emulator.location.parent
            print(
                f"batchtasks emulator listening on {emulator.url} (account {emulator.account}, "
                f"data {where})",
                flush=True,
            )
        await stop.wait()


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Entry point: parse `argv`, serve until interrupted.

    Args:
        argv: arguments (default ``sys.argv[1:]``).
        prog: program name shown in usage (``batchtasks emulator`` when delegated to).

    Returns:
        Process exit code (0 on a clean stop, 2 on bad arguments, 1 on start failure).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["reset"]:
        from .reset_cli import main as reset_main

        return reset_main(argv[1:], prog=f"{prog or PROG} reset")
    parser = build_parser(prog) if prog else build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        emulator = emulator_from_args(args)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(emulator))
    except KeyboardInterrupt:
        return 0
    except (OSError, OverflowError, ValueError) as exc:
        print(f"batchtasks emulator: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0
