"""The public face stays small and honest: every __all__ name exists, nothing private leaks."""

from __future__ import annotations

import batchtasks


def test_all_names_exist() -> None:
    for name in batchtasks.__all__:
        assert hasattr(batchtasks, name), name


def test_no_private_names_exported() -> None:
    assert not [n for n in batchtasks.__all__ if n.startswith("_") and n != "__version__"]


def test_import_creates_no_event_loop_or_session() -> None:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:  # pragma: no cover - would mean import-time side effects
        raise AssertionError("a loop is running at import time")
