"""Fixed values of the emulator: the well-known dev account, accepted api-versions, wire constants.

Values only. This module must not import anything from `batchtasks._private` or `batchtasks.models`:
the emulator keeps its own copy of every wire fact so that a mistake cannot hide on both sides.
"""

from __future__ import annotations

from typing import Final

#: Well-known development account, like Azurite's ``devstoreaccount1`` (documented in the README).
DEV_ACCOUNT: Final = "batchdev"
#: Well-known development key (base64 of 64 bytes). Public on purpose: it protects nothing.
DEV_KEY: Final = (
    "vQ8lG5NEfsVvxCIT5tkez1NtYManOYIam2/m3QXsXQdaeuffJB85t9qjJzTXtmWeHs8jAyL6JFtfPxbzETdmog=="
)

#: The api-version of the emulator's own documents (OpenAPI, a nextLink without one): the one
#: azure-batch 14.2.0 and the batchtasks client send. Every version served is in `versions.py`.
API_VERSION: Final = "2024-02-01.19.0"

#: Bytes; a request body must be strictly below this (service limit, configurable per emulator).
DEFAULT_BODY_LIMIT: Final = 1_048_576
MAX_TASKS_PER_REQUEST: Final = 100
MAX_ID_LENGTH: Final = 64
MAX_DISPLAY_NAME_LENGTH: Final = 1024
MAX_DEPENDS_ON_IDS_CHARS: Final = 64_000
MAX_RESULTS_DEFAULT: Final = 1000
#: Allowed clock skew between the request's ocp-date/Date and the emulator's clock.
MAX_CLOCK_SKEW_SECONDS: Final = 15 * 60

#: .NET TimeSpan.MaxValue as the service prints it for "no limit".
INFINITE_DURATION: Final = "P10675199DT2H48M5.4775807S"
DEFAULT_RETENTION: Final = "P7D"

ERROR_CONTENT_TYPE: Final = "application/json;odata=minimalmetadata"
JSON_CONTENT_TYPE: Final = "application/json;odata=minimalmetadata"

#: SQLite file name inside the ``--location`` directory (fixed: the user names only the directory).
DB_FILENAME: Final = "batchtasks-emulator.sqlite3"
