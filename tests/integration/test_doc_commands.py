"""Every command line shown in README.md and docs/cli.md runs as shown, in order (issue 14).

A reader copies the commands of a page one after the other into a fresh shell with no account
configured. This test does the same: each ``bash``/``sh`` block (and each ``$ `` line of a
``console`` block) of a page, in page order, through ``/bin/sh`` from the repository root, against
the local emulator in the test's own data folder (a fresh one per page), with ``python`` and
``batchtasks`` on PATH. Synopses with placeholders are ``text`` blocks and are not run.

What cannot run inside a test is handled here, explicitly, each with its reason (`SKIPPED`,
`SERVER`); a command that is neither run nor listed fails the test. Every command must exit 0,
print no traceback, and, where the page says what it does, do that (`EXPECT`).
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_examples import REPO, shell_env

PAGES = ["README.md", "docs/cli.md"]

#: Commands never run here (matched by their start), and why.
SKIPPED = {
    "python -m pip install ": "installs into the environment running the tests; the nox "
    "sessions install the package (and nox itself is what runs them) before this test runs",
    "python -m nox": "nox sessions run the suite this test belongs to (or the minutes-long "
    "benchmarks and soak); CI runs each of them",
}
#: Long-running servers: started with --port 0 (tests never bind a fixed port), checked to
#: listen and to say where their data lives, then stopped with SIGTERM.
SERVER = re.compile(r"^(python -m batchtasks\.emulator|batchtasks emulator)(?! reset)\b")
#: Output (stdout + stderr) a command must show: what the page says it does.
EXPECT = {
    "python -m batchtasks demo": ["tasks of job demo-render-etl"],
    "batchtasks sample-tasks --count 10000 | batchtasks add-collection --job-id big "
    "--json-file -": ["job 'big' did not exist in the local emulator: created it", "10,000"],
    "batchtasks task list --job-id renders --filter \"state eq 'completed'\" --select id,state": [
        "render-forest-000001"
    ],
    "batchtasks task get --job-id renders --task-id render-forest-000001": ["completed"],
    "batchtasks task wait --job-id renders --timeout 60": ["1000 task(s) completed"],
    "batchtasks task list --job-id etl --filter \"state eq 'active'\"": [
        "no tasks in job 'etl' matching"
    ],
    "batchtasks emulator reset": ["deleted"],
}


def page_commands(page: str) -> list[str]:
    """The commands of a page, in order (continuation lines joined, comments dropped)."""
    text = (REPO / page).read_text(encoding="utf-8")
    commands: list[str] = []
    for language, body in re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        if language not in ("bash", "sh", "console"):
            continue
        pending = ""
        for raw in body.splitlines():
            line = raw.rstrip()
            if language == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            commands.append(_without_comment(pending + line.strip()))
            pending = ""
    return commands


def _without_comment(command: str) -> str:
    # A trailing "# ..." outside quotes is a comment for the reader.
    quote = None
    for index, char in enumerate(command):
        if char in "'\"":
            quote = None if quote == char else (char if quote is None else quote)
        elif char == "#" and quote is None and index and command[index - 1] == " ":
            return command[:index].rstrip()
    return command


def _runnable(command: str) -> list[str]:
    """The parts of a command line that run here (`&&` chains may hold a skipped install)."""
    parts = [part.strip() for part in command.split(" && ")]
    return [part for part in parts if not part.startswith(tuple(SKIPPED))]


def _run_server(command: str, env: dict[str, str]) -> None:
    argv = re.sub(r"--port \d+", "--port 0", command)
    if "--port" not in argv:
        argv += " --port 0"
    server = subprocess.Popen(
        ["/bin/sh", "-c", f"exec {argv}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert re.match(r"batchtasks emulator listening on http://127\.0\.0\.1:\d+ ", line), (
            command,
            line,
        )
        assert "(account batchdev, data " in line
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert "Traceback" not in err


def test_every_page_has_commands_and_none_is_left_unhandled() -> None:
    for page in PAGES:
        commands = page_commands(page)
        assert commands, page
        for command in commands:
            assert not re.search(r"\b[A-Z]\b|\[--|\.\.\.", command), (
                f"{page}: a synopsis is not a command line; put it in a text block: {command}"
            )


@pytest.mark.parametrize("page", PAGES)
def test_every_command_line_of_the_page_runs_as_shown(page: str, tmp_path: Path) -> None:
    env = shell_env(tmp_path)
    env["BATCHTASKS_EMULATOR_LOCATION"] = str(tmp_path / "emulator-data")
    env["COLUMNS"] = "120"
    ran: list[str] = []
    for command in page_commands(page):
        if SERVER.match(command):
            _run_server(command, env)
            ran.append(command)
            continue
        for part in _runnable(command):
            proc = subprocess.run(
                ["/bin/sh", "-c", part],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=300,
                check=False,
            )
            assert proc.returncode == 0, f"{page}: {part}\n{proc.stderr[-3000:]}"
            assert "Traceback" not in proc.stderr, f"{page}: {part}\n{proc.stderr}"
            for expected in EXPECT.get(part, []):
                assert expected in proc.stdout + proc.stderr, f"{page}: {part}: {expected!r}"
            ran.append(part)
    assert ran, page
