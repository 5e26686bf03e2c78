"""A FastAPI backend that submits batches of tasks and reports their state.

The `BatchClient` is created once, in the app's lifespan, and shared by every request: one
client means one aiohttp session and one connection pool for the whole app (never a client per
request). With no account configured (``AZURE_BATCH_ENDPOINT`` / ``AZURE_BATCH_ACCOUNT`` /
``AZURE_BATCH_ACCESS_KEY``), the lifespan also starts an in-process emulator.

    pip install fastapi uvicorn
    uvicorn examples.fastapi_app:app            # or: python examples/fastapi_app.py

    curl -X POST localhost:8000/jobs -H 'content-type: application/json' \
         -d '{"id": "renders", "pool_id": "pool-1"}'
    curl -X POST localhost:8000/jobs/renders/batches -H 'content-type: application/json' \
         -d '{"tasks": [{"id": "t1", "commandLine": "echo hi"}]}'
    curl localhost:8000/jobs/renders/tasks/t1
    curl 'localhost:8000/jobs/renders/tasks?state=active'
    curl localhost:8000/jobs/renders/progress
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from batchtasks import (
    AlreadyExistsError,
    BatchClient,
    BatchServiceError,
    NotFoundError,
    SharedKeyCredential,
    TaskValidationError,
)
from batchtasks.models import JobAddParameter, TaskAddParameter, TaskState


class JobIn(BaseModel):
    id: str
    pool_id: str = "pool-1"


class BatchIn(BaseModel):
    tasks: list[TaskAddParameter] = Field(min_length=1, max_length=10_000)


class BatchOut(BaseModel):
    job_id: str
    submitted: int
    added: int
    failed: list[dict[str, Any]]


class TaskOut(BaseModel):
    id: str
    state: str | None
    exit_code: int | None = None


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the shared client (and, with no account configured, an emulator) for the app's life."""
    async with contextlib.AsyncExitStack() as stack:
        endpoint = os.environ.get("AZURE_BATCH_ENDPOINT")
        if endpoint:
            credential = SharedKeyCredential(
                os.environ["AZURE_BATCH_ACCOUNT"], os.environ["AZURE_BATCH_ACCESS_KEY"]
            )
        else:
            from batchtasks.emulator import Emulator

            emu = await stack.enter_async_context(Emulator(in_memory=True, run_tasks=True))
            endpoint, credential = emu.url, SharedKeyCredential(emu.account, emu.key)
        app.state.batch = await stack.enter_async_context(BatchClient(endpoint, credential))
        yield


app = FastAPI(title="batch submitter", lifespan=lifespan)


def batch_client(request: Request) -> BatchClient:
    client: BatchClient = request.app.state.batch
    return client


@app.exception_handler(BatchServiceError)
async def service_error(request: Request, exc: BatchServiceError) -> JSONResponse:
    """Pass the service's verdict on (404 JobNotFound stays a 404), without internals."""
    status = exc.status if 400 <= exc.status < 500 else 502
    return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status)


@app.exception_handler(TaskValidationError)
async def invalid_tasks(request: Request, exc: TaskValidationError) -> JSONResponse:
    """A batch the client refused before sending (e.g. the same id twice)."""
    return JSONResponse({"code": "InvalidTasks", "message": str(exc)}, status_code=422)


@app.post("/jobs", status_code=201)
async def create_job(job: JobIn, request: Request) -> dict[str, str]:
    try:
        await batch_client(request).jobs.add(
            JobAddParameter(id=job.id, pool_info={"pool_id": job.pool_id})
        )
    except AlreadyExistsError:
        raise HTTPException(409, f"job {job.id!r} already exists") from None
    return {"id": job.id}


@app.post("/jobs/{job_id}/batches")
async def submit_batch(job_id: str, batch: BatchIn, request: Request) -> BatchOut:
    result = await batch_client(request).tasks.add_collection(
        job_id, batch.tasks, raise_on_failure=False
    )
    if result.stop_reason:
        # A whole-request error (404 JobNotFound, 403, ...) stopped the run: answer with it.
        for outcome in result.outcomes:
            if isinstance(outcome.exception, BatchServiceError):
                raise outcome.exception
    failed = [
        {"taskId": o.task_id, "code": o.error_code, "reason": o.reason}
        for o in result.outcomes
        if not o.ok
    ]
    return BatchOut(
        job_id=job_id,
        submitted=len(batch.tasks),
        added=len(batch.tasks) - len(failed),
        failed=failed,
    )


@app.get("/jobs/{job_id}/tasks/{task_id}")
async def get_task(job_id: str, task_id: str, request: Request) -> TaskOut:
    try:
        task = await batch_client(request).tasks.get(job_id, task_id)
    except NotFoundError as exc:
        raise HTTPException(404, exc.message or "not found") from None
    info = task.execution_info
    return TaskOut(
        id=task.id or task_id,
        state=None if task.state is None else str(task.state),
        exit_code=None if info is None else info.exit_code,
    )


@app.get("/jobs/{job_id}/tasks")
async def list_tasks(
    job_id: str, request: Request, state: TaskState | None = None
) -> list[TaskOut]:
    # An enum, not free text: the value goes into an OData filter.
    query = None if state is None else f"state eq '{state.value}'"
    pager = batch_client(request).tasks.list(job_id, filter=query, select="id,state")
    return [TaskOut(id=t.id or "", state=str(t.state)) async for t in pager]


class ProgressOut(BaseModel):
    active: int
    running: int
    completed: int
    succeeded: int
    failed: int
    percent_complete: float


@app.get("/jobs/{job_id}/progress")
async def job_progress(job_id: str, request: Request) -> ProgressOut:
    """A job's progress from its task counts: one small request, whatever the job's size (the
    counts may lag a list query by a few seconds, which is fine for a progress bar)."""
    counts = (await batch_client(request).jobs.get_task_counts(job_id)).task_counts
    done = 100.0 * counts.completed / counts.total if counts.total else 100.0
    return ProgressOut(**counts.model_dump(), percent_complete=round(done, 1))


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
