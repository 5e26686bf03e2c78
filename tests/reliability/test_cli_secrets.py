"""No usage error of either command line echoes a secret; the emulator's secrets come from the
environment instead of its (world-readable) command line.

argparse repeats what it cannot use: a mistyped ``--acount-key KEY`` was printed back, and so was
an endpoint such as ``ftp://acct:KEY@host``. The emulator accepted its key and bearer token only
as arguments, visible to every user through ``ps``.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from batchtasks import AuthenticationError, BatchClient, SharedKeyCredential
from batchtasks.cli import main as cli_main
from batchtasks.emulator import DEV_ACCOUNT
from batchtasks.emulator.cli import main as emulator_main

from .test_auth_and_secrets import FakeTokenCredential

KEY = base64.b64encode(os.urandom(64)).decode()
TOKEN = "eyJhbGciOiJub25lIn0.cli-secret-" + base64.b16encode(os.urandom(8)).decode()


@pytest.mark.parametrize(
    "argv",
    [
        ["task", "list", "--job-id", "j", "--acount-key", KEY],
        ["task", "list", "--job-id", "j", f"--acount-key={KEY}"],
        ["task", "list", "--job-id", "j", "--account-keys", KEY],
        ["--accountkey", KEY, "task", "list", "--job-id", "j"],
        ["job", "list", "--account-key", KEY, "--max-results", KEY],
        ["task", "list", "--job-id", "j", "--account-endpoint", f"ftp://acct:{KEY}@host"],
        ["task", "list", "--job-id", "j", "--account-endpoint", f"http://acct:{KEY}@10.0.0.1:9/"],
        ["task", "list", "--job-id", "j", "--account-endpoint", f"https://acct:{KEY}@h/path"],
        ["task", "list", "--job-id", "j", "--account-endpoint", f"acct:{KEY}@h"],
    ],
)
def test_cli_usage_errors_never_echo_the_key(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Regression: argparse echoed the unknown `--acount-key KEY`, and the endpoint checks
    # echoed the URL with the key in its user-info.
    code = cli_main(argv)
    out, err = capsys.readouterr()
    assert code == 2, err
    assert err.strip()
    assert KEY not in out + err
    assert KEY[:16] not in out + err


@pytest.mark.parametrize(
    "argv",
    [
        ["--in-memory", "--kye", KEY],
        ["--in-memory", f"--keyy={KEY}"],
        ["--in-memory", "--accept-bearer-token", TOKEN],
        ["--in-memory", "--port", "x", "--key", KEY, "--bogus"],
    ],
)
def test_emulator_usage_errors_never_echo_a_secret(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = emulator_main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert "error:" in err
    for secret in (KEY, TOKEN):
        assert secret not in out + err


@dataclass
class Running:
    url: str
    cmdline: str


@contextmanager
def emulator_with_env(env: dict[str, str]) -> Iterator[Running]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchtasks.emulator", "--in-memory", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode()
        yield Running(match.group(1), cmdline)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)  # also closes the pipes


async def test_the_emulator_takes_its_key_and_token_from_the_environment() -> None:
    # Regression: --key and --accept-bearer TOKEN were the only ways, visible to `ps`.
    env = {"BATCHTASKS_EMULATOR_KEY": KEY, "BATCHTASKS_EMULATOR_BEARER_TOKEN": TOKEN}
    with emulator_with_env(env) as emu:
        assert KEY not in emu.cmdline
        assert TOKEN not in emu.cmdline
        async with BatchClient(emu.url, SharedKeyCredential(DEV_ACCOUNT, KEY)) as client:
            assert await client.jobs.list().to_list() == []
        async with BatchClient(emu.url, FakeTokenCredential(TOKEN)) as client:
            assert await client.jobs.list().to_list() == []
        async with BatchClient(emu.url, FakeTokenCredential("another-token")) as client:
            with pytest.raises(AuthenticationError):
                await client.jobs.list().to_list()
        dev = SharedKeyCredential(DEV_ACCOUNT, base64.b64encode(b"d" * 64).decode())
        async with BatchClient(emu.url, dev) as client:
            with pytest.raises(AuthenticationError):
                await client.jobs.list().to_list()
