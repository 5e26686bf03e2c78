"""Property tests: no file path reaches outside its task directory; ranges round-trip.

`taskfiles.locate` (emulator) is fed arbitrary paths built from the characters that matter
(``.``, ``/``, ``\\``, NUL, names of links that lead out): whatever it returns is inside the task
directory once symbolic links are followed; everything else is refused. The client's
``ocp-range`` parser and formatter agree on every range.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchtasks._private.fileprotocol import format_range, parse_range
from batchtasks.emulator.nodefs import NodeFiles, PathEscapesError
from batchtasks.emulator.taskfiles import locate

SEGMENTS = st.sampled_from(
    ["", ".", "..", "wd", "link", "dirlink", "secret", "a\\b", "x\x00", "wd/dirlink"]
)
PATHS = st.lists(SEGMENTS, min_size=1, max_size=5).map("/".join) | st.text(max_size=12)


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[NodeFiles, Path]:
    base = tmp_path_factory.mktemp("nodes")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret")
    nodes = NodeFiles(base / "nodes")
    root = nodes.task_dir("node", "job", "task")
    (root / "wd" / "out").mkdir(parents=True)
    (root / "stdout.txt").write_text("out")
    (root / "wd" / "out" / "stdout.txt").write_text("deep")
    (root / "wd" / "link").symlink_to(outside / "secret")
    (root / "wd" / "dirlink").symlink_to(outside, target_is_directory=True)
    (root / "wd" / "inner").symlink_to(root / "stdout.txt")
    return nodes, root


@settings(max_examples=1000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=PATHS)
def test_located_paths_stay_inside_the_task_directory(
    layout: tuple[NodeFiles, Path], path: str
) -> None:
    nodes, root = layout
    try:
        found = locate(nodes, "node", "job", "task", path)
    except (PathEscapesError, FileNotFoundError):
        return
    real = Path(os.path.realpath(found))
    assert real.is_relative_to(root.resolve()), (path, real)
    assert real != root.resolve()


def test_links_inside_the_directory_are_followed(layout: tuple[NodeFiles, Path]) -> None:
    nodes, _root = layout
    assert locate(nodes, "node", "job", "task", "wd/inner").read_text() == "out"
    for escaping in ("wd/link", "wd/dirlink/secret", "../../../outside/secret"):
        with pytest.raises(PathEscapesError):
            locate(nodes, "node", "job", "task", escaping)


@given(first=st.integers(0, 2**62), length=st.none() | st.integers(0, 2**62))
def test_ranges_round_trip(first: int, length: int | None) -> None:
    last = None if length is None else first + length
    assert parse_range(format_range(first, last)) == (first, last)


@pytest.mark.parametrize(
    "text", ["0-1", "bytes=", "bytes=-5", "bytes=5-1", "bytes=a-b", "bits=0-1"]
)
def test_malformed_ranges_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ocp_range"):
        parse_range(text)
