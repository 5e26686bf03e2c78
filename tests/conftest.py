"""Shared test configuration.

Warnings are errors (pyproject), so an unclosed aiohttp session or a pending task destroyed at
shutdown fails the test that caused it.
"""

# The emulator's fixtures (`batch_emulator`, `batch_emulator_running`); pytest only honours
# pytest_plugins in the rootdir conftest, so it is registered here.
pytest_plugins = ["batchtasks.emulator.pytest_plugin"]
