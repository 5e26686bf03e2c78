"""AsyncPager: the async iterator returned by `list` operations, following `odata.nextLink`.

Pages are fetched lazily, one at a time, only when iteration needs them. `by_page()` exposes the
pages (each with its continuation token and HTTP details) and can resume from a token. An
iteration ends with `PagingError` when the service repeats a continuation token (the list would
never end) or sends one that is not printable text, and when an optional `max_pages` cap is
reached. This module knows nothing about HTTP: it is driven by a `fetch(continuation_token)`
coroutine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from batchtasks._private.headercheck import check_link_text
from batchtasks._private.limits import PagingError

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


def _check_max_pages(max_pages: int | None) -> int | None:
    if max_pages is not None and (
        isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1
    ):
        raise ValueError("max_pages must be a positive integer or None")
    return max_pages


class _PageIterator(Generic[T]):
    __slots__ = ("_done", "_fetch", "_max_pages", "_pages", "_seen", "_token")

    def __init__(self, fetch: PageFetcher[T], token: str | None, max_pages: int | None) -> None:
        if token is not None:
            problem = check_link_text(token)
            if problem is not None:
                raise ValueError(f"continuation_token {problem}")
        self._fetch = fetch
        self._token = token
        self._done = False
        self._max_pages = max_pages
        self._pages = 0
        # Every token followed in this iteration: a repeated one means the list never ends.
        self._seen: set[str] = set() if token is None else {token}

    def __aiter__(self) -> _PageIterator[T]:
        return self

    async def __anext__(self) -> Page[T]:
        if self._done:
            raise StopAsyncIteration
        if self._max_pages is not None and self._pages >= self._max_pages:
            self._done = True
            raise PagingError(
                f"stopped after max_pages={self._max_pages} pages; the list continues at "
                f"continuation token {self._token!r}",
                pages=self._pages,
            )
        try:
            page = await self._fetch(self._token)
        except ValueError as exc:
            if self._pages == 0:  # the caller's token or request: the caller's error
                raise
            self._done = True
            raise PagingError(
                f"the continuation token of page {self._pages} cannot be followed: {exc}",
                pages=self._pages,
            ) from None
        self._pages += 1
        token = page.continuation_token
        if token is not None:
            problem = check_link_text(token) if isinstance(token, str) else "is not a string"
            if problem is not None or token in self._seen:
                self._done = True
                why = f"a continuation token that {problem}" if problem else "a repeated one"
                raise PagingError(
                    f"the service answered page {self._pages} with {why}: {token!r}; "
                    "following it would never end",
                    pages=self._pages,
                )
            self._seen.add(token)
        self._token = token
        self._done = token is None
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

    __slots__ = ("_current", "_fetch", "_max_pages", "_start")

    def __init__(
        self,
        fetch: PageFetcher[T],
        *,
        continuation_token: str | None = None,
        max_pages: int | None = None,
    ) -> None:
        self._fetch = fetch
        self._start = continuation_token
        self._max_pages = _check_max_pages(max_pages)
        self._current: _ItemIterator[T] | None = None

    @property
    def max_pages(self) -> int | None:
        """The most pages one iteration fetches before raising `PagingError` (None: no cap)."""
        return self._max_pages

    @max_pages.setter
    def max_pages(self, value: int | None) -> None:
        self._max_pages = _check_max_pages(value)

    def by_page(
        self, continuation_token: str | None = None, *, max_pages: int | None = None
    ) -> AsyncIterator[Page[T]]:
        """Iterate over pages instead of items.

        Args:
            continuation_token: a `Page.continuation_token` from an earlier iteration, to resume
                after that page; None to start at the first page.
            max_pages: fetch at most this many pages, then raise `PagingError` if the list goes
                on (default: the pager's `max_pages`).

        Returns:
            An async iterator of `Page` objects.

        Raises:
            ValueError: `continuation_token` is not printable text.
            PagingError: (while iterating) the service repeated a continuation token or sent
                an unusable one, or `max_pages` was reached.
        """
        cap = self._max_pages if max_pages is None else _check_max_pages(max_pages)
        return _PageIterator(self._fetch, continuation_token or self._start, cap)

    def __aiter__(self) -> AsyncIterator[T]:
        return _ItemIterator(_PageIterator(self._fetch, self._start, self._max_pages))

    async def __anext__(self) -> T:
        """Next item of the pager's own running iteration (azure-core `AsyncItemPaged` style)."""
        if self._current is None:
            self._current = _ItemIterator(_PageIterator(self._fetch, self._start, self._max_pages))
        return await self._current.__anext__()

    async def to_list(self, *, max_pages: int | None = None) -> list[T]:
        """Fetch every page and return all items (convenient for small results).

        Args:
            max_pages: raise `PagingError` rather than fetch more pages than this (default:
                the pager's `max_pages`).
        """
        return [item async for page in self.by_page(max_pages=max_pages) for item in page]
