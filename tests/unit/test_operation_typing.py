"""The one-signature pattern as mypy sees it: tests/typing/operations_typing.py under --strict.

Each line there marked `# E: <text>` must draw a mypy error containing <text>, and no other line
may draw one; so precise return types (plain and `with_raw_response`), every option with its
type, and the refusal of misspelt or misplaced options are all checked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = ROOT / "tests" / "typing" / "operations_typing.py"
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<message>.*)$")
MARK = re.compile(r"\S  # E: (?P<text>.+)$")  # a code line's trailing comment


def expected_errors() -> dict[int, str]:
    expected = {}
    for number, line in enumerate(SNIPPET.read_text(encoding="utf-8").splitlines(), start=1):
        mark = MARK.search(line)
        if mark is not None:
            expected[number] = mark["text"].strip()
    return expected


def test_snippet_marks_refusals() -> None:
    # The check below is only meaningful if the snippet expects some errors and has clean lines.
    expected = expected_errors()
    assert len(expected) >= 8
    assert "assert_type(" in SNIPPET.read_text(encoding="utf-8")


def test_mypy_strict_agrees_with_the_snippet(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            "--no-error-summary",
            "--hide-error-context",
            "--show-error-codes",
            str(SNIPPET),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    errors: dict[int, list[str]] = {}
    for line in run.stdout.splitlines():
        match = ERROR.match(line)
        if match is not None:
            errors.setdefault(int(match["line"]), []).append(match["message"])
    assert run.returncode in (0, 1), run.stderr
    expected = expected_errors()
    unexpected = {n: m for n, m in errors.items() if n not in expected}
    assert not unexpected, f"mypy errors on lines that must type-check: {unexpected}"
    for number, text in expected.items():
        messages = errors.get(number, [])
        assert any(text in message for message in messages), (
            f"line {number}: expected an error containing {text!r}, got {messages}"
        )
