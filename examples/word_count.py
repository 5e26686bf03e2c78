"""Word count, run for real: the emulator's local pool (``execute=True``) runs each task's command.

One task per text file in ``examples/wordcount/texts`` counts its words (``count_words.py`` and
the text arrive as resource files, ``file://`` URLs); a merge task that depends on all of them
adds the counts up. Each task's ``counts.json`` is uploaded (an output file) to a local results
folder; the script watches the tasks, reads the merge task's ``stdout.txt`` through the file API
and prints the most frequent words. The same code runs
against a cloud pool with ``https`` resource files and a storage container as destination.

    python examples/word_count.py [--results DIR] [--url URL]

Without ``--url`` it starts an executing emulator in this process; with it, it uses one started
with ``python -m batchtasks.emulator --execute`` (the dev account).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from batchtasks import BatchClient, SharedKeyCredential
from batchtasks.emulator import Emulator
from batchtasks.emulator.constants import DEV_ACCOUNT, DEV_KEY
from batchtasks.models import JobAddParameter, TaskAddParameter

HERE = Path(__file__).resolve().parent / "wordcount"
JOB_ID = "wordcount"


def upload(results: Path, name: str) -> list[dict[str, object]]:
    """Output files: this task's counts.json, on success, to results/<name> (for one file,
    ``path`` is the name of the blob, as in a storage container)."""
    return [
        {
            "filePattern": "counts.json",
            "destination": {"container": {"containerUrl": results.as_uri(), "path": name}},
            "uploadOptions": {"uploadCondition": "taskSuccess"},
        }
    ]


def tasks(results: Path) -> list[TaskAddParameter]:
    """One counting task per text, and the merge task that depends on all of them."""
    python = shlex.quote(sys.executable)
    program = {"httpUrl": (HERE / "count_words.py").as_uri(), "filePath": "count_words.py"}
    texts = sorted((HERE / "texts").glob("*.txt"))
    counting = [
        TaskAddParameter(
            id=f"count-{text.stem}",
            command_line=f"{python} count_words.py {text.name}",
            resource_files=[program, {"httpUrl": text.as_uri(), "filePath": text.name}],
            output_files=upload(results, f"{text.stem}.json"),
        )
        for text in texts
    ]
    merge = TaskAddParameter(
        id="merge",
        command_line=f"{python} count_words.py --merge "
        + " ".join(f"{t.stem}.json" for t in texts),
        resource_files=[
            program,
            *(
                {"httpUrl": (results / f"{t.stem}.json").as_uri(), "filePath": f"{t.stem}.json"}
                for t in texts
            ),
        ],
        output_files=upload(results, "total.json"),
        depends_on={"task_ids": [t.id for t in counting]},
    )
    return [*counting, merge]


async def main(results: Path, url: str | None = None) -> dict[str, int]:
    """Run the word count; return the merged counts."""
    async with AsyncExitStack() as stack:
        if url is None:
            emu = await stack.enter_async_context(Emulator(in_memory=True, execute=True))
            url = emu.url
        client = await stack.enter_async_context(
            BatchClient(url, SharedKeyCredential(DEV_ACCOUNT, DEV_KEY))
        )
        await client.jobs.add(
            JobAddParameter(id=JOB_ID, pool_info={"pool_id": "local"}, uses_task_dependencies=True)
        )
        work = tasks(results)
        await client.tasks.add_collection(JOB_ID, work)
        print(f"submitted {len(work)} tasks")
        while True:
            states = {t.id: str(t.state) async for t in client.tasks.list(JOB_ID)}
            print("states:", dict(sorted(states.items())))
            if all(s == "completed" for s in states.values()):
                break
            await asyncio.sleep(0.2)
        async for task in client.tasks.list(JOB_ID, select="id,executionInfo"):
            info = task.execution_info
            assert info is not None
            failure = f" ({info.failure_info.code})" if info.failure_info else ""
            print(f"{task.id}: exit code {info.exit_code}, {info.result}{failure}")
        # The merge task's real stdout.txt, read through the Batch file API.
        summary = await client.files.get_from_task(JOB_ID, "merge", "stdout.txt").read()
        print("merge stdout.txt:", summary.decode().strip())
    counts: dict[str, int] = json.loads((results / "total.json").read_text())
    print("top words:", ", ".join(f"{w} {n}" for w, n in list(counts.items())[:5]))
    return counts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=None, help="where outputs go")
    parser.add_argument("--url", default=None, help="an emulator started with --execute")
    args = parser.parse_args()
    if args.results is None:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(Path(tmp), args.url))
    else:
        asyncio.run(main(args.results.resolve(), args.url))
