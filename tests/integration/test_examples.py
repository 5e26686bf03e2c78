"""Every file in examples/ runs as written against the emulator.

First, each example is run from the command line docs/examples.md shows for it ("run it"), from
the repository root, exactly as written (the one deliberate change: uvicorn gets ``--port 0``, as
tests never bind a fixed port), and what it prints is checked. Then, in more depth and with small
sizes: the FastAPI app is driven in process through its lifespan with an ASGI client, and the
notebook is executed by nbclient (its outputs inspected) and cell by cell with top-level await.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib.util
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
EXAMPLES_DOC = REPO / "docs" / "examples.md"


def documented_commands() -> dict[str, str]:
    """File name -> the command line in the "run it" column of docs/examples.md."""
    commands = {}
    for line in EXAMPLES_DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[2].startswith("`"):
            commands[cells[0].strip("`")] = cells[2].strip("`")
    return commands


def shell_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user's shell: the interpreter's bin folder first on PATH, and a
    ``batchtasks`` command where the package is on PYTHONPATH rather than installed."""
    shims = tmp_path / "bin"
    shims.mkdir(exist_ok=True)
    shim = shims / "batchtasks"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m batchtasks "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_BATCH_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), str(shims), env["PATH"]])
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_documented(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        env=shell_env(tmp_path),
        check=False,
    )


def check_quickstart(proc: subprocess.CompletedProcess[str]) -> None:
    assert "states: {'completed': 10}" in proc.stdout


def check_bulk_submit(proc: subprocess.CompletedProcess[str]) -> None:
    assert "100,000 tasks in" in proc.stdout
    assert "{'added': 100000}" in proc.stdout


def check_retries_and_faults(proc: subprocess.CompletedProcess[str]) -> None:
    retried = re.search(r"'added_on_retry': (\d+)", proc.stdout)
    assert retried, proc.stdout  # the seeded dropped connection really happened
    assert int(retried.group(1)) >= 1
    dropped = re.search(r"'drop_after_commit': (\d+)", proc.stdout)
    assert dropped
    assert int(dropped.group(1)) >= 1
    assert "matches the 2000 reported added" in proc.stdout


def check_watch_and_collect(proc: subprocess.CompletedProcess[str]) -> None:
    assert re.search(r"job collect: (\d+) task\(s\) completed", proc.stdout), proc.stdout


def check_word_count(proc: subprocess.CompletedProcess[str]) -> None:
    assert "merge: exit code 0, success" in proc.stdout


def check_notebook(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Executing notebook with kernel" in proc.stderr


def check_task_file(proc: subprocess.CompletedProcess[str]) -> None:
    assert re.search(r"added\s+│\s+1,000", proc.stdout), proc.stdout


CHECKS: dict[str, Callable[[subprocess.CompletedProcess[str]], None]] = {
    "quickstart.py": check_quickstart,
    "bulk_submit.py": check_bulk_submit,
    "retries_and_faults.py": check_retries_and_faults,
    "watch_and_collect.py": check_watch_and_collect,
    "word_count.py": check_word_count,
    "notebook.ipynb": check_notebook,
    "tasks.jsonl": check_task_file,
}
#: Runs as a server until stopped: started with --port 0 and queried instead.
SERVERS = {"fastapi_app.py"}


def test_every_example_has_a_documented_command_line() -> None:
    # Folders (wordcount/) hold the data of an example, not examples.
    files = {p.name for p in EXAMPLES.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert set(documented_commands()) == files
    assert set(CHECKS) | SERVERS == files


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_runs_from_its_documented_command_line(name: str, tmp_path: Path) -> None:
    proc = run_documented(documented_commands()[name], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    CHECKS[name](proc)


def test_fastapi_app_runs_under_uvicorn_as_documented(tmp_path: Path) -> None:
    command = documented_commands()["fastapi_app.py"]
    assert command == "uvicorn examples.fastapi_app:app"
    server = subprocess.Popen(
        ["/bin/sh", "-c", f"exec {command} --port 0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=shell_env(tmp_path),
    )
    try:
        assert server.stderr is not None
        url = None
        for line in server.stderr:
            found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "uvicorn did not start"

        def call(method: str, path: str, body: object = None) -> tuple[int, object]:
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(url + path, data=data, method=method)
            request.add_header("content-type", "application/json")
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read())

        assert call("POST", "/jobs", {"id": "renders", "pool_id": "pool-1"})[0] == 201
        tasks = [{"id": f"t{n}", "commandLine": "echo hi"} for n in range(20)]
        status, batch = call("POST", "/jobs/renders/batches", {"tasks": tasks})
        assert status == 200
        assert isinstance(batch, dict)
        assert batch["added"] == 20
        status, task = call("GET", "/jobs/renders/tasks/t1")
        assert status == 200
        assert isinstance(task, dict)
        assert task["id"] == "t1"
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)
    assert server.returncode == 0


def test_notebook_executes_under_nbclient_with_a_live_progress_widget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("BATCHTASKS_NOTEBOOK_TASKS", "300")
    notebook = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(REPO)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # rich draws its bar as a Jupyter widget (ipywidgets), not as text.
    kinds = {key for o in outputs for key in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in kinds
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "300 task(s) completed" in printed


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_BATCH_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=env,
        check=False,
    )


def test_quickstart() -> None:
    proc = run_example("quickstart.py", "--tasks", "10")
    assert proc.returncode == 0, proc.stderr
    assert "added 10 of 10 tasks" in proc.stdout
    assert "'completed': 10" in proc.stdout
    failed = sorted(
        line.split()[1] for line in proc.stdout.splitlines() if line.startswith("failed:")
    )
    assert failed == ["hello-004", "hello-009"]


def test_bulk_submit_streams_every_outcome() -> None:
    proc = run_example("bulk_submit.py", "--tasks", "700", "--max-concurrency", "4")
    assert proc.returncode == 0, proc.stderr
    assert "700 tasks in" in proc.stdout
    assert "{'added': 700}" in proc.stdout


def test_retries_and_faults_accounts_for_every_task() -> None:
    proc = run_example("retries_and_faults.py", "--tasks", "400", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert "matches the 400 reported added" in proc.stdout
    assert "task retries: 0" not in proc.stdout  # faults really happened


def test_watch_and_collect_reads_every_output_once() -> None:
    proc = run_example("watch_and_collect.py", "--tasks", "15")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    done = [line.split()[1] for line in lines if line.startswith("done: ")]
    assert sorted(done) == [f"part-{n:03d}" for n in range(15)]  # each task once
    assert "job collect: 15 task(s) completed, 13 succeeded, 2 failed" in proc.stdout
    outputs = {line.split()[1].rstrip(":"): line for line in lines if line.startswith("stdout ")}
    assert sorted(outputs) == sorted(done)
    assert all(f"simulated run of task {task}" in outputs[task] for task in done)


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first, as a normal import would be: pydantic resolves the example's
    # annotations through its module.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextlib.asynccontextmanager
async def fastapi_example(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """The FastAPI example through its lifespan (its own emulator), with an ASGI client."""
    for name in ("AZURE_BATCH_ENDPOINT", "AZURE_BATCH_ACCOUNT", "AZURE_BATCH_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = load_module(EXAMPLES / "fastapi_app.py").app
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://app"
        ) as http,
    ):
        yield http


async def test_fastapi_app_submits_and_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    async with fastapi_example(monkeypatch) as http:
        created = await http.post("/jobs", json={"id": "web", "pool_id": "p"})
        assert created.status_code == 201, created.text
        assert (await http.post("/jobs", json={"id": "web"})).status_code == 409

        tasks = [{"id": f"w{n}", "commandLine": f"echo {n}"} for n in range(150)]
        submitted = await http.post("/jobs/web/batches", json={"tasks": tasks})
        assert submitted.status_code == 200, submitted.text
        assert (submitted.json()["submitted"], submitted.json()["added"]) == (150, 150)

        again = [{"id": "w0", "commandLine": "echo again"}, {"id": "w150", "commandLine": "x"}]
        second = (await http.post("/jobs/web/batches", json={"tasks": again})).json()
        assert (second["submitted"], second["added"]) == (2, 1)
        assert [(f["taskId"], f["code"]) for f in second["failed"]] == [("w0", "TaskExists")]

        twice = [{"id": "dup", "commandLine": "x"}, {"id": "DUP", "commandLine": "y"}]
        rejected = await http.post("/jobs/web/batches", json={"tasks": twice})
        assert rejected.status_code == 422
        assert "dup" in rejected.text.lower()
        bad = await http.post("/jobs/web/batches", json={"tasks": [{"id": "no command"}]})
        assert bad.status_code == 422

        one = await http.get("/jobs/web/tasks/w7")
        assert one.status_code == 200
        assert one.json()["id"] == "w7"
        assert one.json()["state"] in {"active", "running", "completed"}

        listed = await http.get("/jobs/web/tasks")
        assert sorted(t["id"] for t in listed.json()) == sorted(f"w{n}" for n in range(151))
        active = await http.get("/jobs/web/tasks", params={"state": "active"})
        assert all(t["state"] == "active" for t in active.json())
        assert (await http.get("/jobs/web/tasks", params={"state": "bogus"})).status_code == 422

        missing = await http.get("/jobs/nope/tasks/w1")
        assert missing.status_code == 404
        no_job = await http.post("/jobs/nope/batches", json={"tasks": tasks[:1]})
        assert no_job.status_code == 404
        assert no_job.json()["code"] == "JobNotFound"


async def test_notebook_cells_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHTASKS_NOTEBOOK_TASKS", "300")
    notebook = json.loads((EXAMPLES / "notebook.ipynb").read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        code = compile(
            source, f"notebook.ipynb[{index}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        )
        result = eval(code, namespace)
        if inspect.isawaitable(result):
            await result
    assert namespace["outcomes"]["added"] == 300
    assert namespace["states"] == {"completed": 300}
    assert len(namespace["completed"]) == 300


async def test_fastapi_app_reports_progress_from_task_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with fastapi_example(monkeypatch) as http:
        empty = await http.get("/jobs/nope/progress")
        assert (empty.status_code, empty.json()["code"]) == (404, "JobNotFound")
        await http.post("/jobs", json={"id": "prog", "pool_id": "p"})
        assert (await http.get("/jobs/prog/progress")).json()["percent_complete"] == 100.0
        tasks = [
            {"id": f"p{n}", "commandLine": "exit 1" if n == 0 else "sleep 1"} for n in range(20)
        ]
        await http.post("/jobs/prog/batches", json={"tasks": tasks})
        for _ in range(200):
            progress = (await http.get("/jobs/prog/progress")).json()
            if progress["completed"] == 20:
                break
            await asyncio.sleep(0.05)
        assert progress == {
            "active": 0, "running": 0, "completed": 20, "succeeded": 19, "failed": 1,
            "percent_complete": 100.0,
        }  # fmt: skip


def test_word_count_runs_real_processes(tmp_path: Path) -> None:
    proc = run_example("word_count.py", "--results", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "submitted 4 tasks" in proc.stdout
    assert "merge: exit code 0, success" in proc.stdout
    assert re.search(r"^merge stdout.txt: merge: \d+ words, \d+ distinct$", proc.stdout, re.M)
    expected: Counter[str] = Counter()
    for text in sorted((EXAMPLES / "wordcount" / "texts").glob("*.txt")):
        words = Counter(re.findall(r"[a-z']+", text.read_text().lower()))
        assert json.loads((tmp_path / f"{text.stem}.json").read_text()) == dict(words)
        expected.update(words)
    assert json.loads((tmp_path / "total.json").read_text()) == dict(expected)
