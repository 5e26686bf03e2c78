"""The environment a task's process sees: the Batch ``AZ_BATCH_*`` variables and its settings.

Documented list (Batch docs, "Azure Batch runtime environment variables"); the emulator sets:

``AZ_BATCH_ACCOUNT_NAME``, ``AZ_BATCH_ACCOUNT_URL``, ``AZ_BATCH_POOL_ID``, ``AZ_BATCH_NODE_ID``,
``AZ_BATCH_NODE_IS_DEDICATED``, ``AZ_BATCH_NODE_ROOT_DIR``, ``AZ_BATCH_NODE_SHARED_DIR``,
``AZ_BATCH_NODE_STARTUP_DIR``, ``AZ_BATCH_JOB_ID``, ``AZ_BATCH_TASK_ID``, ``AZ_BATCH_TASK_DIR``,
``AZ_BATCH_TASK_WORKING_DIR``, ``AZ_BATCH_CERTIFICATES_DIR``; for multi-instance tasks also
``AZ_BATCH_HOST_LIST``, ``AZ_BATCH_NODE_LIST``, ``AZ_BATCH_MASTER_NODE``,
``AZ_BATCH_IS_CURRENT_NODE_MASTER`` and ``AZ_BATCH_TASK_SHARED_DIR``. Every virtual node is this
machine, so host lists name ``127.0.0.1`` once per instance.

Order, later wins: a small base taken from the emulator's own environment (``PATH``, ``HOME``,
``LANG``, ``LC_ALL``, ``TZ``, ``TMPDIR``: nothing else of it, so its secrets are not handed to
tasks), the job's ``commonEnvironmentSettings``, the task's ``environmentSettings``, then the
``AZ_BATCH_*`` variables (the service's own). Pure: no I/O.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Instance", "task_environment"]

_BASE = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
_MASTER_PORT = 6000  # the port the service's AZ_BATCH_MASTER_NODE example shows


@dataclass(frozen=True)
class Instance:
    """One instance of a run: its node and directories.

    Attributes:
        node_id: the virtual node.
        node_root: AZ_BATCH_NODE_ROOT_DIR.
        task_dir: AZ_BATCH_TASK_DIR on that node.
        number: 0 for the primary (or a plain task), 1.. for multi-instance subtasks.
    """

    node_id: str
    node_root: Path
    task_dir: Path
    number: int = 0


def task_environment(
    *,
    account: str,
    account_url: str,
    pool_id: str,
    job: Mapping[str, Any],
    task: Mapping[str, Any],
    instance: Instance,
    instances: int,
    shared_dir: Path,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The complete environment of one instance of a task's process."""
    source = os.environ if base is None else base
    env = {name: source[name] for name in _BASE if name in source}
    for setting in job.get("commonEnvironmentSettings") or []:
        env[str(setting["name"])] = str(setting.get("value") or "")
    for setting in task.get("environmentSettings") or []:
        env[str(setting["name"])] = str(setting.get("value") or "")
    env.update(
        {
            "AZ_BATCH_ACCOUNT_NAME": account,
            "AZ_BATCH_ACCOUNT_URL": account_url,
            "AZ_BATCH_POOL_ID": pool_id,
            "AZ_BATCH_NODE_ID": instance.node_id,
            "AZ_BATCH_NODE_IS_DEDICATED": "true",
            "AZ_BATCH_NODE_ROOT_DIR": str(instance.node_root),
            "AZ_BATCH_NODE_SHARED_DIR": str(instance.node_root / "shared"),
            "AZ_BATCH_NODE_STARTUP_DIR": str(instance.node_root / "startup"),
            "AZ_BATCH_JOB_ID": str(job["id"]),
            "AZ_BATCH_TASK_ID": str(task["id"]),
            "AZ_BATCH_TASK_DIR": str(instance.task_dir),
            "AZ_BATCH_TASK_WORKING_DIR": str(instance.task_dir / "wd"),
            "AZ_BATCH_CERTIFICATES_DIR": str(instance.task_dir / "certs"),
        }
    )
    if task.get("multiInstanceSettings"):
        hosts = ["127.0.0.1"] * instances
        env.update(
            {
                "AZ_BATCH_HOST_LIST": ",".join(hosts),
                "AZ_BATCH_NODE_LIST": ";".join(hosts),
                "AZ_BATCH_MASTER_NODE": f"127.0.0.1:{_MASTER_PORT}",
                "AZ_BATCH_IS_CURRENT_NODE_MASTER": "true" if instance.number == 0 else "false",
                "AZ_BATCH_TASK_SHARED_DIR": str(shared_dir),
            }
        )
    return env
