"""BatchClient: lifecycle (owned/borrowed session), construction side effects, endpoint policy,
secrets, retries through the client (incl. add after an unknown outcome), bearer tokens."""

from __future__ import annotations

import asyncio
import gc
import logging
import pickle
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

import batchtasks._private.transport as transport_module
from batchtasks import (
    AlreadyExistsError,
    AuthenticationError,
    BadRequestError,
    BatchClient,
    BatchTimeoutError,
    RetryPolicy,
    ServerError,
    SharedKeyCredential,
    Timeout,
)
from tests.unit.conftest import (
    BASE_URL,
    VECTOR_ACCOUNT,
    VECTOR_KEY,
    CaptureServer,
    FakeService,
    FakeSleep,
    Reply,
)

TASK_EXISTS = b'{"code":"TaskExists","message":{"value":"The specified task already exists."}}'
TASK = {"id": "t1", "commandLine": "echo"}


def cred() -> SharedKeyCredential:
    return SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)


# --- construction and lifecycle ---------------------------------------------------------------


def test_construction_outside_a_loop_creates_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("created at construction time")

    monkeypatch.setattr(transport_module.aiohttp, "ClientSession", forbidden)
    monkeypatch.setattr(transport_module.aiohttp, "TCPConnector", forbidden)
    monkeypatch.setattr(asyncio, "get_event_loop", forbidden)
    monkeypatch.setattr(asyncio, "new_event_loop", forbidden)
    threads = threading.active_count()
    client = BatchClient(BASE_URL, cred())
    assert client.tasks is not None
    assert client.jobs is not None
    assert client._transport._session is None
    assert threading.active_count() == threads
    assert client.max_connections == 64


async def test_owned_session_created_on_enter_and_closed_on_exit() -> None:
    client = BatchClient(BASE_URL, cred(), max_connections=5)
    assert client._transport._session is None
    async with client as entered:
        assert entered is client
        session = client._transport._session
        assert session is not None
        assert not session.closed
        assert session.connector is not None
        assert session.connector.limit == 5
        assert client.max_connections == 5
    assert session.closed
    assert client.closed
    await client.close()  # idempotent
    gc.collect()


async def test_owned_session_created_lazily_on_first_request(service: FakeService) -> None:
    client = BatchClient(BASE_URL, cred())
    assert client._transport._session is None
    await client.tasks.delete("j", "t")
    session = client._transport._session
    assert session is not None
    await client.close()
    assert session.closed
    with pytest.raises(RuntimeError, match="closed"):
        await client.tasks.delete("j", "t")


async def test_borrowed_session_is_never_closed(capture_server: CaptureServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with BatchClient(capture_server.url, cred(), session=session) as client:
            await client.tasks.delete("j", "t")
        assert client.closed
        assert not session.closed
        async with session.get(capture_server.url + "/still-usable") as resp:
            assert resp.status == 200
    assert len(capture_server.requests) == 2


@pytest.mark.parametrize(
    "kwargs",
    [{"max_connections": 4}, {"trace_configs": [aiohttp.TraceConfig()]}],
)
async def test_session_options_conflict_with_borrowed_session(kwargs: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="your session"):
            BatchClient(BASE_URL, cred(), session=session, **kwargs)


async def test_trace_configs_are_passed_to_the_owned_session(capture_server: CaptureServer) -> None:
    seen: list[str] = []

    async def on_start(
        session: object, ctx: object, params: aiohttp.TraceRequestStartParams
    ) -> None:
        seen.append(params.method)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with BatchClient(capture_server.url, cred(), trace_configs=[trace]) as client:
        await client.tasks.delete("j", "t")
    assert seen == ["DELETE"]


async def test_user_agent_prefix(capture_server: CaptureServer) -> None:
    async with BatchClient(capture_server.url, cred(), user_agent="myapp/1.2") as client:
        await client.tasks.delete("j", "t")
    agent = capture_server.requests[0].header("User-Agent")
    assert agent is not None
    assert agent.startswith("myapp/1.2 batchtasks/")


# --- endpoint policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "normalised"),
    [
        ("https://acct.westus.batch.azure.com", "https://acct.westus.batch.azure.com"),
        ("https://acct.westus.batch.azure.com/", "https://acct.westus.batch.azure.com"),
        ("http://127.0.0.1:10100", "http://127.0.0.1:10100"),
        ("http://localhost:8080/", "http://localhost:8080"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("http://127.5.6.7", "http://127.5.6.7"),
        # Without a scheme, as the portal shows it: https (the CLI reads it the same way).
        ("acct.westus.batch.azure.com", "https://acct.westus.batch.azure.com"),
        (" acct.westus.batch.azure.com/ ", "https://acct.westus.batch.azure.com"),
    ],
)
def test_accepted_endpoints(endpoint: str, normalised: str) -> None:
    assert BatchClient(endpoint, cred()).endpoint == normalised


def test_plain_http_to_remote_host_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="allow_insecure_http=True") as info:
        BatchClient("http://acct.westus.batch.azure.com", cred())
    assert "unencrypted" in str(info.value)
    client = BatchClient("http://10.0.0.5:8080", cred(), allow_insecure_http=True)
    assert client.endpoint == "http://10.0.0.5:8080"


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "ftp://acct.westus.batch.azure.com",
        "https://acct.westus.batch.azure.com/jobs",
        "https://acct.westus.batch.azure.com?x=1",
        "https://user:pw@acct.westus.batch.azure.com",
        "https://",
    ],
)
def test_bad_endpoints(endpoint: str) -> None:
    with pytest.raises(ValueError, match="endpoint"):
        BatchClient(endpoint, cred())


def test_bad_credential_and_options() -> None:
    with pytest.raises(TypeError, match="credential"):
        BatchClient(BASE_URL, VECTOR_KEY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Timeout"):
        BatchClient(BASE_URL, cred(), timeout=30)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="logging"):
        BatchClient(BASE_URL, cred(), logging="debug")  # type: ignore[arg-type]


# --- secrets ----------------------------------------------------------------------------------


async def test_secrets_absent_from_repr_logs_exceptions_and_pickle(
    service: FakeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = BatchClient(BASE_URL, cred(), retry_policy=RetryPolicy(max_attempts=1))
    service.reply(Reply(status=403, body=b'{"code":"AuthenticationFailed"}'))
    async with client:
        with pytest.raises(AuthenticationError) as info:
            await client.tasks.get("j", "t")
    signature = service.sent[0].headers["authorization"].split(":", 1)[1]
    texts = [repr(client), str(client), str(info.value), repr(info.value), caplog.text]
    for text in texts:
        assert VECTOR_KEY not in text
        assert signature not in text
        assert f"SharedKey {VECTOR_ACCOUNT}:" not in text
    assert "GET /jobs/j/tasks/t -> 403" in caplog.text
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(client)
    # The exception itself pickles, still without secrets.
    clone = pickle.dumps(info.value)
    assert VECTOR_KEY.encode() not in clone
    assert signature.encode() not in clone


async def test_logging_false_logs_nothing(
    service: FakeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with BatchClient(BASE_URL, cred(), logging=False) as client:
        await client.tasks.delete("j", "t")
    assert not [r for r in caplog.records if r.name.startswith("batchtasks")]


# --- retries through the client ---------------------------------------------------------------


@pytest.fixture
async def retrying_client(fake_sleep: FakeSleep) -> AsyncIterator[BatchClient]:
    policy = RetryPolicy(
        max_attempts=4, backoff_initial=1.0, jitter=0.0, retry_after_cap=7.0, sleep=fake_sleep
    )
    async with BatchClient(BASE_URL, cred(), retry_policy=policy) as client:
        yield client


async def test_transient_failures_are_retried_with_same_request_id(
    service: FakeService, retrying_client: BatchClient, fake_sleep: FakeSleep
) -> None:
    service.reply(
        Reply(status=503, body=b'{"code":"Unavailable"}'),
        Reply(exception=aiohttp.ServerDisconnectedError()),
        Reply(status=500),
        Reply(status=200, body=b'{"id":"t"}'),
    )
    task = await retrying_client.tasks.get("j", "t")
    assert task.id == "t"
    assert len(service.sent) == 4
    assert fake_sleep.calls == [1.0, 2.0, 4.0]
    assert len({s.headers["client-request-id"] for s in service.sent}) == 1
    for sent in service.sent:
        assert sent.headers["authorization"] == sent.expected_authorization()


async def test_retry_after_is_honoured_and_capped(
    service: FakeService, retrying_client: BatchClient, fake_sleep: FakeSleep
) -> None:
    service.reply(
        Reply(status=429, headers={"Retry-After": "3"}),
        Reply(status=503, body=b'{"code":"ServerBusy"}', headers={"Retry-After": "600"}),
        Reply(status=200),
    )
    await retrying_client.tasks.delete("j", "t")
    assert fake_sleep.calls == [3.0, 7.0]


async def test_gives_up_after_max_attempts(
    service: FakeService, retrying_client: BatchClient, fake_sleep: FakeSleep
) -> None:
    service.reply(Reply(status=500, body=b'{"code":"InternalError"}'))
    with pytest.raises(ServerError):
        await retrying_client.tasks.terminate("j", "t")
    assert len(service.sent) == 4
    assert len(fake_sleep.calls) == 3


async def test_timeouts_are_mapped_and_retried(
    service: FakeService, retrying_client: BatchClient
) -> None:
    service.reply(Reply(exception=asyncio.TimeoutError()))
    with pytest.raises(BatchTimeoutError):
        await retrying_client.tasks.reactivate("j", "t")
    assert len(service.sent) == 4


async def test_client_errors_are_not_retried(
    service: FakeService, retrying_client: BatchClient, fake_sleep: FakeSleep
) -> None:
    service.reply(Reply(status=400, body=b'{"code":"InvalidPropertyValue"}'))
    with pytest.raises(BadRequestError):
        await retrying_client.tasks.update("j", "t")
    assert len(service.sent) == 1
    assert fake_sleep.calls == []


async def test_deadline_bounds_the_call(service: FakeService, fake_sleep: FakeSleep) -> None:
    policy = RetryPolicy(
        max_attempts=10, backoff_initial=2.0, jitter=0.0, deadline=3.0, sleep=fake_sleep
    )
    service.reply(Reply(status=500))
    async with BatchClient(BASE_URL, cred(), retry_policy=policy) as client:
        with pytest.raises(ServerError):
            await client.tasks.get("j", "t")
    assert len(service.sent) == 2  # waits of 2 s fit, the next 4 s would pass the 3 s deadline
    assert fake_sleep.calls == [2.0]


async def test_per_call_retry_policy_overrides_the_client(
    service: FakeService, fake_sleep: FakeSleep
) -> None:
    service.reply(Reply(status=503), Reply(status=200))
    async with BatchClient(BASE_URL, cred(), retry_policy=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ServerError):
            await client.tasks.delete("j", "t")
        service.reply(Reply(status=503), Reply(status=200))
        await client.tasks.delete("j", "t", retry_policy=RetryPolicy(sleep=fake_sleep))
    assert len(service.sent) == 3


async def test_fresh_ocp_date_and_signature_each_attempt(
    service: FakeService, retrying_client: BatchClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import batchtasks._private.pipeline as pipeline_module

    dates = iter(["Tue, 01 Oct 2024 12:00:00 GMT", "Tue, 01 Oct 2024 12:00:05 GMT"])
    monkeypatch.setattr(pipeline_module, "format_ocp_date", lambda: next(dates))
    service.reply(Reply(status=500), Reply(status=200))
    await retrying_client.tasks.delete("j", "t")
    first, second = service.sent
    assert first.headers["ocp-date"] != second.headers["ocp-date"]
    assert first.headers["authorization"] != second.headers["authorization"]
    assert second.headers["authorization"] == second.expected_authorization()


# --- add after an unknown outcome ---------------------------------------------------------------


@pytest.mark.parametrize(
    "first_failure",
    [
        Reply(exception=asyncio.TimeoutError()),
        Reply(exception=aiohttp.ServerDisconnectedError()),
        Reply(status=500, body=b'{"code":"InternalError"}'),
        Reply(status=502, body=b"<html>bad gateway</html>"),
    ],
    ids=["timeout", "disconnect", "500", "502"],
)
async def test_add_exists_after_unknown_outcome_is_flagged(
    first_failure: Reply, service: FakeService, retrying_client: BatchClient
) -> None:
    service.reply(first_failure, Reply(status=409, body=TASK_EXISTS))
    with pytest.raises(AlreadyExistsError) as info:
        await retrying_client.tasks.add("j", TASK)
    assert info.value.after_unknown_outcome is True
    assert "unknown outcome" in str(info.value)
    assert len(service.sent) == 2
    assert service.sent[0].body == service.sent[1].body


async def test_add_exists_after_throttling_is_a_plain_conflict(
    service: FakeService, retrying_client: BatchClient
) -> None:
    service.reply(
        Reply(status=429, headers={"Retry-After": "1"}), Reply(status=409, body=TASK_EXISTS)
    )
    with pytest.raises(AlreadyExistsError) as info:
        await retrying_client.tasks.add("j", TASK)
    assert info.value.after_unknown_outcome is False


async def test_add_exists_on_first_attempt_is_a_plain_conflict(
    service: FakeService, retrying_client: BatchClient
) -> None:
    service.reply(Reply(status=409, body=TASK_EXISTS))
    with pytest.raises(AlreadyExistsError) as info:
        await retrying_client.tasks.add("j", TASK)
    assert info.value.after_unknown_outcome is False
    assert len(service.sent) == 1


async def test_add_succeeds_after_retry(service: FakeService, retrying_client: BatchClient) -> None:
    service.reply(Reply(status=503), Reply(status=201))
    assert await retrying_client.tasks.add("j", TASK) is None
    assert len(service.sent) == 2


async def test_job_add_exists_after_unknown_outcome_is_flagged(
    service: FakeService, retrying_client: BatchClient
) -> None:
    service.reply(
        Reply(exception=asyncio.TimeoutError()), Reply(status=409, body=b'{"code":"JobExists"}')
    )
    with pytest.raises(AlreadyExistsError) as info:
        await retrying_client.jobs.add({"id": "j", "poolInfo": {"poolId": "p"}})
    assert info.value.after_unknown_outcome is True


# --- Microsoft Entra ID bearer tokens -------------------------------------------------------------


@dataclass
class _Token:
    token: str
    expires_on: int


class _Credential:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **kwargs: object) -> _Token:
        self.scopes.append(scopes)
        return _Token("eyJ-secret-token", 4_000_000_000)


async def test_bearer_token_is_sent_and_cached(
    service: FakeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    credential = _Credential()
    service.reply(
        Reply(status=200), Reply(status=200), Reply(status=404, body=b'{"code":"TaskNotFound"}')
    )
    async with BatchClient(BASE_URL, credential) as client:
        await client.tasks.delete("j", "t")
        await client.tasks.delete("j", "t")
        with pytest.raises(Exception) as info:
            await client.tasks.delete("j", "t")
    assert [s.headers["authorization"] for s in service.sent] == ["Bearer eyJ-secret-token"] * 3
    assert credential.scopes == [("https://batch.core.windows.net//.default",)]
    assert "eyJ-secret-token" not in caplog.text
    assert "eyJ-secret-token" not in str(info.value)
    assert "eyJ-secret-token" not in repr(client)


def test_client_timeout_value_object() -> None:
    timeout = Timeout(connect=1, read=2, total=3)
    assert timeout.capped(1.5).total == 1.5
    assert timeout.capped(10) is timeout
    assert timeout.capped(None) is timeout
    with pytest.raises(ValueError, match="connect"):
        Timeout(connect=0)


async def test_per_call_client_timeout(capture_server: CaptureServer) -> None:
    never = asyncio.Event()

    async def hang(request: object) -> object:
        await never.wait()
        raise AssertionError("unreachable")

    capture_server.respond = hang  # type: ignore[assignment]
    policy = RetryPolicy(max_attempts=2, sleep=_instant)
    async with BatchClient(capture_server.url, cred(), retry_policy=policy) as client:
        with pytest.raises(BatchTimeoutError):
            await client.tasks.get("j", "t", client_timeout=Timeout(read=0.1, total=None))
    assert len(capture_server.requests) == 2  # timed out, retried once, timed out again


async def _instant(seconds: float) -> None:
    return None
