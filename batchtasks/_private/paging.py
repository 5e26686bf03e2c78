"""AsyncPager: the async iterator returned by `list` operations, following `odata.nextLink`.

Pages are fetched lazily, one at a time, only when iteration needs them. `by_page()` exposes the
pages (each with its continuation token and HTTP details) and can resume from a token. This module
knows nothing about HTTP: it is driven by a `fetch(continuation_token)` coroutine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["AsyncPager", "Page", "PageFetcher"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list result.

    Attributes:
        items: the items of this page.
        continuation_token: pass to `by_page(continuation_token=...)` to continue after this
            page; None on the last page.
        status: HTTP status of the page's response.
        headers: its response headers.
    """

    items: Sequence[T]
    continuation_token: str | None
    status: int = 200
    headers: Mapping[str, str] | None = None

    @property
    def request_id(self) -> str | None:
        """The service's `request-id` for this page."""
        return self.headers.get("request-id") if self.headers is not None else None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __aiter__(self) -> AsyncIterator[T]:
        return _ListIterator(self.items)


#: Fetch the page at a continuation token (None: the first page).
PageFetcher = Callable[[str | None], Awaitable[Page[T]]]


class _ListIterator(Generic[T]):
    __slots__ = ("_items", "_pos")

    def __init__(self, items: Sequence[T]) -> None:
        self._items = items
        self._pos = 0

    def __aiter__(self) -> _ListIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._pos >= len(self._items):
            raise StopAsyncIteration
        item = self._items[self._pos]
        self._pos += 1
        return item


class _PageIterator(Generic[T]):
    __slots__ = ("_done", "_fetch", "_token")

    def __init__(self, fetch: PageFetcher[T], token: str | None) -> None:
        self._fetch = fetch
        self._token = token
        self._done = False

    def __aiter__(self) -> _PageIterator[T]:
        return self

    async def __anext__(self) -> Page[T]:
        if self._done:
            raise StopAsyncIteration
        page = await self._fetch(self._token)
        self._token = page.continuation_token
        self._done = self._token is None
        return page


class _ItemIterator(Generic[T]):
    __slots__ = ("_items", "_pages", "_pos")

    def __init__(self, pages: _PageIterator[T]) -> None:
        self._pages = pages
        self._items: Sequence[T] = ()
        self._pos = 0

    def __aiter__(self) -> _ItemIterator[T]:
        return self

    async def __anext__(self) -> T:
        # Loop because a page may legitimately be empty while a nextLink still follows.
        while self._pos >= len(self._items):
            page = await self._pages.__anext__()
            self._items, self._pos = page.items, 0
        item = self._items[self._pos]
        self._pos += 1
        return item


class AsyncPager(Generic[T]):
    """Async iterator over every item of a list operation, page by page.

    `async for task in client.tasks.list(job_id)` fetches the first page when iteration starts
    and the next one only when the current page is used up. Iterating the pager again starts
    over from the first page.

    Args:
        fetch: coroutine returning the page at a continuation token (None = first page).
        continuation_token: where plain iteration starts (None = the beginning).
    """

    __slots__ = ("_current", "_fetch", "_start")

    def __init__(self, fetch: PageFetcher[T], *, continuation_token: str | None = None) -> None:
        self._fetch = fetch
        self._start = continuation_token
        self._current: _ItemIterator[T] | None = None

    def by_page(self, continuation_token: str | None = None) -> AsyncIterator[Page[T]]:
        """Iterate over pages instead of items.

        Args:
            continuation_token: a `Page.continuation_token` from an earlier iteration, to resume
                after that page; None to start at the first page.

        Returns:
            An async iterator of `Page` objects.
        """
        return _PageIterator(self._fetch, continuation_token or self._start)

    def __aiter__(self) -> AsyncIterator[T]:
        return _ItemIterator(_PageIterator(self._fetch, self._start))

    async def __anext__(self) -> T:
        """Next item of the pager's own running iteration (azure-core `AsyncItemPaged` style)."""
        if self._current is None:
            self._current = _ItemIterator(_PageIterator(self._fetch, self._start))
        return await self._current.__anext__()

    async def to_list(self) -> list[T]:
        """Fetch every page and return all items (convenient for small results)."""
        return [item async for item in self]
