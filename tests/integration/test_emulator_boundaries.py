"""The emulator's independence: it never imports the client's internals or models."""

from __future__ import annotations

import ast
from pathlib import Path

import batchtasks.emulator

FORBIDDEN = ("batchtasks._private", "batchtasks.models", "batchtasks.cli")


def test_emulator_imports_nothing_from_the_client() -> None:
    package = Path(batchtasks.emulator.__file__).parent
    offenders = []
    for source in sorted(package.glob("*.py")):
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level > 1:  # `from .. import x` would reach batchtasks itself
                    offenders.append(f"{source.name}: relative level {node.level}")
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offenders += [
                f"{source.name}: {n}" for n in names if n.startswith(FORBIDDEN) or n == "batchtasks"
            ]
    assert offenders == []
    assert len(list(package.glob("*.py"))) >= 10


def test_public_names() -> None:
    assert set(batchtasks.emulator.__all__) >= {"Emulator", "FaultConfig", "DEV_ACCOUNT", "DEV_KEY"}
    for name in batchtasks.emulator.__all__:
        assert hasattr(batchtasks.emulator, name)
