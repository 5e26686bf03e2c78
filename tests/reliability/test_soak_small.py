"""The soak at a size that fits the normal test run, and proof that its checks can fail.

The full-size soak is ``nox -s soak`` (``python -m tests.reliability.soak``); here the same code
runs 1,500 tasks against the same separate-process emulator with the same fault mix.
"""

from __future__ import annotations

import psutil
import pytest

from .soak import FAULTS, MAX_ATTEMPTS, main, run_soak


def _children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.is_running()]


async def test_small_soak_under_all_faults_loses_nothing() -> None:
    before = {p.pid for p in _children()}
    report = await run_soak(1500, concurrency=8, seed=7)
    assert report.violations == []
    figures = report.figures
    assert figures["listed"] == 1500
    assert figures["max_attempts_seen"] <= MAX_ATTEMPTS
    assert figures["faults"]["task_server_error"] > 0
    assert figures["retries"] > 0
    # The emulator child process is gone.
    assert {p.pid for p in _children()} <= before


async def test_the_soak_reports_a_run_that_proved_nothing() -> None:
    quiet = {name: 0.0 for name in FAULTS}
    report = await run_soak(50, concurrency=2, seed=1, faults=quiet)
    assert report.violations == ["no faults were injected: the soak proved nothing"]
    assert "violations                 1" in report.render()


def test_size_must_be_positive() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--tasks", "0"])
    assert caught.value.code == 2
