// The official @azure/batch 10.2.0 SDK (sends api-version 2022-10-01.16.0), with its default
// settings, against the batchtasks emulator. Run by tests/js/js_conformance.py, which starts an
// emulator on 127.0.0.1 and passes BATCH_URL, BATCH_ACCOUNT and BATCH_KEY; the script talks to
// nothing else. Prints one JSON line {"checked": [...]} and exits 0, or throws (exit 1).
"use strict";
const assert = require("node:assert/strict");
const { BatchServiceClient, BatchSharedKeyCredentials } = require("@azure/batch");

const url = process.env.BATCH_URL;
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url || "")) {
  throw new Error(`BATCH_URL must be the loopback emulator, got ${url}`);
}
const client = new BatchServiceClient(
  new BatchSharedKeyCredentials(process.env.BATCH_ACCOUNT, process.env.BATCH_KEY),
  url,
);
const checked = [];
const pool = { poolId: "pool-1" };

async function fails(promise, status, code) {
  try {
    await promise;
  } catch (err) {
    assert.equal(err.statusCode, status, `${err.statusCode} ${err.code}`);
    assert.equal(err.code, code);
    return;
  }
  throw new Error(`expected ${status} ${code}`);
}

async function allPages(first, next) {
  const pages = [await first];
  while (pages[pages.length - 1].odatanextLink) {
    pages.push(await next(pages[pages.length - 1].odatanextLink));
  }
  return pages;
}

async function jobs() {
  assert.equal(client.apiVersion, "2022-10-01.16.0");
  await client.job.add({ id: "job-1", poolInfo: pool, priority: 10, metadata: [{ name: "a", value: "b" }] });
  const job = await client.job.get("job-1");
  assert.equal(job.state, "active");
  assert.equal(job.priority, 10);
  await fails(client.job.add({ id: "JOB-1", poolInfo: pool }), 409, "JobExists");
  const listed = await client.job.list();
  assert.ok(listed.some((j) => j.id === "job-1"));
  await client.job.patch("job-1", { priority: 20 });
  const patched = await client.job.get("job-1");
  assert.equal(patched.priority, 20);
  assert.equal(patched.metadata[0].name, "a");
  await fails(
    client.job.update("job-1", { poolInfo: pool, priority: 1 }, { jobUpdateOptions: { ifMatch: job.eTag } }),
    412,
    "ConditionNotMet",
  );
  await client.job.update("job-1", { poolInfo: pool, priority: 1 }, { jobUpdateOptions: { ifMatch: patched.eTag } });
  const replaced = await client.job.get("job-1");
  assert.equal(replaced.priority, 1);
  assert.equal(replaced.metadata, undefined);
  await client.job.deleteMethod("job-1");
  await fails(client.job.get("nope"), 404, "JobNotFound");
  checked.push("job add/get/list/patch/update(If-Match)/delete");
}

async function tasks() {
  await client.job.add({ id: "j", poolInfo: pool });
  const constraints = { maxWallClockTime: "PT1H", maxTaskRetryCount: 2 };
  await client.task.add("j", { id: "t1", commandLine: "echo hi", displayName: "\u00dcnicode", constraints });
  const task = await client.task.get("j", "t1");
  assert.equal(task.displayName, "\u00dcnicode");
  assert.equal(task.state, "active");
  assert.equal(task.constraints.maxTaskRetryCount, 2);
  assert.equal(task.constraints.maxWallClockTime, "PT1H");
  assert.equal(task.executionInfo.retryCount, 0);
  await fails(client.task.add("j", { id: "T1", commandLine: "x" }), 409, "TaskExists");
  await fails(client.task.add("nope", { id: "a", commandLine: "x" }), 404, "JobNotFound");
  await fails(client.task.get("j", "nope"), 404, "TaskNotFound");
  const selected = await client.task.get("j", "t1", { taskGetOptions: { select: "id,constraints,eTag" } });
  assert.equal(selected.commandLine, undefined);
  await fails(
    client.task.update("j", "t1", { constraints: { retentionTime: "P1D" }, taskUpdateOptions: { ifMatch: "0x1" } }),
    412,
    "ConditionNotMet",
  );
  await client.task.update("j", "t1", { constraints: { retentionTime: "P1D" }, taskUpdateOptions: { ifMatch: selected.eTag } });
  const updated = await client.task.get("j", "t1");
  assert.equal(updated.constraints.retentionTime, "P1D");
  assert.equal(updated.constraints.maxTaskRetryCount, 0);
  checked.push("task add/get($select)/update(If-Match) and 404/409/412 codes");
}

async function collections() {
  await client.job.add({ id: "bulk", poolInfo: pool });
  const all = Array.from({ length: 250 }, (_, i) => ({ id: `bulk-${String(i).padStart(4, "0")}`, commandLine: `echo ${i}` }));
  let added = 0;
  for (let start = 0; start < all.length; start += 100) {
    const result = await client.task.addCollection("bulk", all.slice(start, start + 100));
    added += result.value.filter((r) => r.status === "success").length;
  }
  assert.equal(added, 250);
  const again = await client.task.addCollection("bulk", all.slice(0, 2));
  assert.deepEqual(again.value.map((r) => r.error.code), ["TaskExists", "TaskExists"]);
  const options = { taskListOptions: { filter: "startswith(id,'bulk-00') and state eq 'active'", select: "id,state", maxResults: 30 } };
  const pages = await allPages(client.task.list("bulk", options), (link) => client.task.listNext(link, options));
  assert.equal(pages.length, 4);
  const ids = pages.flat().map((t) => t.id).sort();
  assert.deepEqual(ids, all.slice(0, 100).map((t) => t.id));
  assert.ok(pages.flat().every((t) => t.commandLine === undefined));
  await fails(client.task.list("bulk", { taskListOptions: { filter: "displayName eq 'x'" } }), 400, "InvalidQueryParameterValue");
  const counts = await client.job.getTaskCounts("bulk");
  assert.equal(counts.taskCounts.active, 250);
  assert.equal(counts.taskSlotCounts.active, 250);
  await fails(client.job.getTaskCounts("nope"), 404, "JobNotFound");
  checked.push("addCollection 3 x 100 (250 tasks), list $filter/$select/maxresults across 4 pages, task counts");
}

async function lifecycle() {
  await client.job.add({ id: "life", poolInfo: pool });
  await client.task.add("life", {
    id: "mpi",
    commandLine: "x",
    multiInstanceSettings: { numberOfInstances: 3, coordinationCommandLine: "coord" },
  });
  const subtasks = await client.task.listSubtasks("life", "mpi");
  assert.deepEqual(subtasks.value.map((s) => s.id), [1, 2]);
  await fails(client.task.reactivate("life", "mpi"), 409, "TaskNotCompleted");
  await client.task.terminate("life", "mpi");
  assert.equal((await client.task.get("life", "mpi")).state, "completed");
  await fails(client.task.terminate("life", "mpi"), 409, "TaskCompleted");
  await client.task.reactivate("life", "mpi");
  assert.equal((await client.task.get("life", "mpi")).state, "active");
  await client.task.deleteMethod("life", "mpi");
  await fails(client.task.get("life", "mpi"), 404, "TaskNotFound");
  checked.push("terminate/reactivate/listSubtasks/delete");
}

async function advance(seconds) {
  // The emulator's admin endpoint (loopback, no auth): move its simulated clock.
  const response = await fetch(`${url}/_emulator/advance`, { method: "POST", body: JSON.stringify({ seconds }) });
  assert.equal(response.status, 200);
}

async function files() {
  // Run against an emulator whose tasks run (js_conformance.py starts one for this mode).
  await client.job.add({ id: "files", poolInfo: pool });
  await client.task.add("files", { id: "t", commandLine: "echo hi" });
  for (let i = 0; i < 10 && (await client.task.get("files", "t")).state !== "completed"; i++) {
    await advance(5);
  }
  const listed = await client.file.listFromTask("files", "t", { recursive: true });
  assert.deepEqual(listed.map((f) => f.name).sort(), ["stderr.txt", "stdout.txt", "wd"]);
  const props = await client.file.getPropertiesFromTask("files", "t", "stdout.txt");
  const download = await client.file.getFromTask("files", "t", "stdout.txt");
  const chunks = [];
  for await (const chunk of download.readableStreamBody) chunks.push(chunk);
  const data = Buffer.concat(chunks);
  assert.equal(props.contentLength, data.length);
  assert.equal(props.ocpBatchFileIsdirectory, false);
  assert.ok(data.toString().includes("echo hi"));
  await client.file.deleteFromTask("files", "t", "stdout.txt");
  // A streamed download's error body is not parsed by this SDK: the status is what it reports.
  await fails(client.file.getFromTask("files", "t", "stdout.txt"), 404, undefined);
  const gone = await client.file.listFromTask("files", "t", { recursive: true });
  assert.deepEqual(gone.map((f) => f.name).sort(), ["stderr.txt", "wd"]);
  checked.push("task files: listFromTask, getPropertiesFromTask, getFromTask, deleteFromTask, 404");
}

(async () => {
  if (process.argv[2] === "files") {
    await files();
  } else {
    await jobs();
    await tasks();
    await collections();
    await lifecycle();
  }
  console.log(JSON.stringify({ checked }));
})().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
