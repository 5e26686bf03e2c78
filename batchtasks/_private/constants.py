"""Protocol constants of the Azure Batch Task API (api-version 2024-02-01.19.0).

Values only; no behaviour. Sources are the service's REST specification and its documented limits.
"""

from __future__ import annotations

from typing import Final

API_VERSION: Final = "2024-02-01.19.0"

#: The service rejects an add_collection request with more tasks than this (HTTP 400).
MAX_TASKS_PER_REQUEST: Final = 100

#: Bytes. An add_collection body must be strictly below this, or the service answers 413.
DEFAULT_BODY_LIMIT: Final = 1_048_576

#: What the official SDK sends on every request that has a body.
JSON_CONTENT_TYPE: Final = "application/json; odata=minimalmetadata; charset=utf-8"

#: Microsoft Entra ID scope of the Batch service (the double slash is intended).
BATCH_SCOPE: Final = "https://batch.core.windows.net//.default"

#: Server-side processing limits (the `timeout` query parameter caps).
MAX_SERVER_TIMEOUT: Final = 30
MAX_SERVER_TIMEOUT_ADD_COLLECTION: Final = 120

#: add_collection's default number of requests in flight.
DEFAULT_MAX_CONCURRENCY: Final = 8
