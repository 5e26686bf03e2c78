"""Shared test configuration.

Warnings are errors (pyproject), so an unclosed aiohttp session or a pending task destroyed at
shutdown fails the test that caused it.

No test may touch the user's real emulator data folder: every test (and every process it starts,
which inherits the environment) gets its own empty folder through BATCHTASKS_EMULATOR_LOCATION.
"""

from __future__ import annotations

import pytest

from batchtasks.emulator.datadir import LOCATION_ENV

# The emulator's fixtures (`batch_emulator`, `batch_emulator_running`); pytest only honours
# pytest_plugins in the rootdir conftest, so it is registered here.
pytest_plugins = ["batchtasks.emulator.pytest_plugin"]


@pytest.fixture(autouse=True)
def _own_emulator_data_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOCATION_ENV, str(tmp_path_factory.mktemp("emulator-data")))
