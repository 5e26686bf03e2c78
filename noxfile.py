"""Developer sessions for batchtasks.

`python -m nox` runs the default sessions (tests, the official clients azure-batch 15.1.0 and
@azure/batch 10.2.0, lint, typecheck, soak at CI size); this is the command the README gives and
the one `.ci/run` runs.  `nox -s bench` runs the benchmarks.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import nox


def _interpreter(version: str) -> str | None:
    """Path of a working `pythonX.Y` (env BATCHTASKS_PYTHON310 etc., pyenv, PATH), or None."""
    candidates = [
        os.environ.get(f"BATCHTASKS_PYTHON{version.replace('.', '')}"),
        *sorted(
            glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))
        ),
        shutil.which(f"python{version}"),
    ]
    for candidate in candidates:
        probe = subprocess.run([candidate, "-V"], capture_output=True) if candidate else None  # noqa: S603
        if probe is not None and probe.returncode == 0:
            return candidate
    return None


#: The oldest Python we support; its session is skipped (not failed) where it is not installed.
PY310 = _interpreter("3.10")

nox.options.sessions = ["tests", "tests-3.10", "sdk15", "js", "lint", "typecheck", "soak"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False


@nox.session
def tests(session: nox.Session) -> None:
    """Unit, integration, conformance (official azure-batch SDK) and fast reliability tests."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(name="tests-3.10", python=PY310)
def tests_oldest_python(session: nox.Session) -> None:
    """Unit, integration and conformance tests on Python 3.10, the oldest supported version."""
    if PY310 is None:
        session.skip("Python 3.10 not found; set BATCHTASKS_PYTHON310 to its path")
    session.install("-e", ".[test]")
    session.run(
        "pytest", "-q", "-p", "no:cacheprovider", "tests/unit", "tests/integration",
        "tests/conformance", *session.posargs,
    )  # fmt: skip


@nox.session
def examples(session: nox.Session) -> None:
    """Every example run from the command line docs/examples.md shows, in a fresh environment
    holding only batchtasks[examples] (and the test runner): proves that extra is enough."""
    session.install("-e", ".[examples]")
    session.install("pytest>=8", "pytest-asyncio>=0.24", "pytest-timeout>=2.3")
    session.install("httpx>=0.27", "asgi-lifespan>=2.1")
    session.run(
        "pytest", "-q", "-p", "no:cacheprovider", "tests/integration/test_examples.py",
        *session.posargs,
    )  # fmt: skip


@nox.session
def sdk15(session: nox.Session) -> None:
    """azure-batch 15.1.0, sync and aio, with its default settings (api-version 2025-06-01)."""
    session.install("-e", ".[test]")
    session.install("-e", ".[sdk15]")  # replaces the test extra's azure-batch 14.2.0 here only
    session.run(
        "pytest", "-q", "-p", "no:cacheprovider", "tests/sdk15/sdk15_conformance.py",
        *session.posargs,
    )  # fmt: skip


@nox.session
def js(session: nox.Session) -> None:
    """@azure/batch 10.2.0 from npm (api-version 2022-10-01.16.0), driven by a node script.

    Installs tests/js/package.json into nox's cache (npm and node from PATH); the script talks only
    to the loopback emulator the test starts.
    """
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        session.error("node and npm are needed on PATH for the @azure/batch conformance check")
    session.install("-e", ".[test]")
    target = session.cache_dir / "azure-batch-js"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile("tests/js/package.json", target / "package.json")
    session.run(npm, "install", "--no-audit", "--no-fund", "--prefix", str(target), external=True)
    session.run(
        "pytest", "-q", "-p", "no:cacheprovider", "tests/js/js_conformance.py", *session.posargs,
        env={"BATCHTASKS_JS_MODULES": str(target / "node_modules")},
    )  # fmt: skip


@nox.session
def azcli(session: nox.Session) -> None:
    """Optional (not a default; installing azure-cli takes minutes): `az batch task ...` commands
    against the emulator, including numeric strings (`--max-task-retry-count 2`) and --json-file."""
    session.install("-e", ".[test]", "azure-cli")
    session.run(
        "pytest", "-q", "-p", "no:cacheprovider", "tests/azcli/az_conformance.py", *session.posargs
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[typecheck]")
    session.run("mypy", "--strict", "batchtasks")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: batchtasks side by side with the official SDKs, reported as ratios.

    azure-batch 14.2.0 comes with the test extra; 15.1.0 has the same distribution name, so
    benchmarks/run.py installs it into its own directory under nox's cache and runs its runner
    in an interpreter that sees only that directory. Extra arguments go to benchmarks/run.py
    (e.g. ``nox -s bench -- --reps 5`` or ``-- --only A --clients bt,s15``).
    """
    session.install("-e", ".[test]")
    sdk15 = session.cache_dir / "azure-batch-15"
    session.run(
        "python",
        "benchmarks/run.py",
        "--sdk15-target",
        str(sdk15),
        *session.posargs,
        env={"PYTHONHASHSEED": "0"},
    )
    # Task-file download throughput against a raw aiohttp read (docs/files.md).
    session.run("python", "benchmarks/download.py")
    # Requests of tasks.wait against the list-everything loop, 100,000 tasks (docs/waiting.md).
    session.run("python", "benchmarks/wait_requests.py")
    # Hostile answers (size, bombs, slow pages) and 2,000 held connections (docs/reliability.md).
    session.run("python", "benchmarks/hostile.py")


@nox.session
def bench_execute(session: nox.Session) -> None:
    """The executing emulator: /bin/true tasks per second and CPU per task (docs/execute.md).

    Extra arguments go to benchmarks/emulator_execute.py (e.g. ``-- --tasks 5000 --slots 8``).
    """
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/emulator_execute.py", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """Long soak under injected faults: one bulk add against a separate emulator process.

    Size from SOAK_TASKS (default 200,000: 26-41 s on 2 cores; 500,000: 69-83 s); SOAK_CONCURRENCY
    and SOAK_SEED are honoured too. Prints the figures and exits non-zero on any violation (lost,
    duplicated or extra task, a result that disagrees with the service, retries over budget).
    Extra arguments go to the soak (e.g. ``nox -s soak -- --json figures.json``).
    """
    session.install("-e", ".[test]")
    env = {"SOAK_TASKS": os.environ.get("SOAK_TASKS", "200000")}
    session.run("python", "-m", "tests.reliability.soak", *session.posargs, env=env)
