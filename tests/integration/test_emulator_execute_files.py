"""Real output read through the file API of the executing emulator, by batchtasks
(`client.files.get_from_task`) and by the official azure-batch 14.2.0 SDK (`file.get_from_task`).
SDK calls run in a worker thread."""

from __future__ import annotations

import asyncio
import warnings

from batchtasks import BatchClient, SharedKeyCredential

from ._execute_helper import executing, nodes_root, run_one, wait_no_survivors, wait_state

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from azure.batch import BatchServiceClient
    from azure.batch.batch_auth import SharedKeyCredentials

SCRIPT = (
    "/bin/sh -c 'for n in 1 2 3; do echo line $n of $AZ_BATCH_TASK_ID; done; "
    'echo oops >&2; printf "%s" "$AZ_BATCH_NODE_ID" > result.txt\''
)


async def test_real_output_through_batchtasks_and_the_official_sdk() -> None:
    async with executing() as (emu, raw):
        body = await run_one(raw, {"id": "t", "commandLine": SCRIPT})
        assert body["executionInfo"]["exitCode"] == 0
        expected = "".join(f"line {n} of t\n" for n in (1, 2, 3))
        async with BatchClient(emu.url, SharedKeyCredential(emu.account, emu.key)) as client:
            ours = {
                name: (await client.files.get_from_task("j", "t", name).read()).decode()
                for name in ("stdout.txt", "stderr.txt", "wd/result.txt")
            }
        sdk = BatchServiceClient(SharedKeyCredentials(emu.account, emu.key), batch_url=emu.url)
        try:

            def sdk_read(name: str) -> str:
                return b"".join(sdk.file.get_from_task("j", "t", name)).decode()

            theirs = {
                name: await asyncio.to_thread(sdk_read, name)
                for name in ("stdout.txt", "stderr.txt", "wd/result.txt")
            }
        finally:
            sdk.close()
    assert ours == theirs
    assert ours == {
        "stdout.txt": expected,
        "stderr.txt": "oops\n",
        "wd/result.txt": body["nodeInfo"]["nodeId"],
    }


async def test_output_of_a_running_task_is_readable_while_it_runs() -> None:
    async with executing() as (emu, raw):
        root = nodes_root(emu)
        await raw.create_job("j")
        command = "/bin/sh -c 'echo started; exec sleep 60'"
        await raw.add_task("j", {"id": "t", "commandLine": command})
        await wait_state(raw, "j", "t", ("running",))
        async with BatchClient(emu.url, SharedKeyCredential(emu.account, emu.key)) as client:
            text = ""
            for _ in range(100):
                text = (await client.files.get_from_task("j", "t", "stdout.txt").read()).decode()
                if text:
                    break
                await asyncio.sleep(0.05)
            assert text == "started\n"
            await client.tasks.terminate("j", "t")
        await wait_no_survivors(root)
