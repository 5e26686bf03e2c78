"""Generated sample tasks: render and ETL style work in the service's task shape (camelCase JSON).

Used by ``batchtasks demo``, by ``batchtasks sample-tasks`` (which wrote examples/tasks.jsonl)
and by tests. Deterministic for a given seed. Pure data: this module must not do I/O.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

__all__ = ["sample_tasks"]

_SCENES = ["forest", "harbour", "city-night", "desert", "glacier", "studio"]
_REGIONS = ["emea", "apac", "amer"]
_TABLES = ["orders", "clicks", "sensor_readings", "invoices", "shipments"]
_STORAGE = "https://samplestore.blob.core.windows.net"

# Display names in several scripts, as real users write them.
_RENDER_NAMES = [
    "Rendu de la scène {scene}, image {frame}",
    "Render {scene} — frame {frame}",
    "レンダリング {scene} フレーム {frame}",
    "Bildberechnung {scene} · Bild {frame}",
    "Рендер {scene}, кадр {frame}",
]
_ETL_NAMES = [
    "ETL {table} partition {part} ({region})",
    "Übertragung {table} Teil {part}",
    "数据处理 {table} 分区 {part}",
    "Carga {table} — partición {part} 🚚",
]


def _render_task(rng: random.Random, index: int, prefix: str) -> dict[str, Any]:
    scene = rng.choice(_SCENES)
    frame = index + 1
    samples = rng.choice([64, 128, 256, 512])
    command = rng.choice(
        [
            f"/bin/sh -c 'blender -b scenes/{scene}.blend -o out/{scene}_#### -f {frame}'",
            f"/bin/sh -c 'render --scene {scene} --frame {frame} --samples {samples}'",
            f'cmd /c "kick.exe -i scenes\\{scene}.ass -frame {frame} -o out\\{frame:05d}.exr"',
        ]
    )
    task: dict[str, Any] = {
        "id": f"{prefix}render-{scene}-{frame:06d}",
        "displayName": rng.choice(_RENDER_NAMES).format(scene=scene, frame=frame),
        "commandLine": command,
        "resourceFiles": [
            {
                "httpUrl": f"{_STORAGE}/scenes/{scene}.blend?sv=2022-11-02&sp=r",
                "filePath": f"scenes/{scene}.blend",
            }
        ],
        "environmentSettings": [
            {"name": "SCENE", "value": scene},
            {"name": "FRAME", "value": str(frame)},
            {"name": "SAMPLES", "value": str(samples)},
        ],
        "outputFiles": [
            {
                "filePattern": "out/*.exr",
                "destination": {
                    "container": {
                        "containerUrl": f"{_STORAGE}/frames?sv=2022-11-02&sp=cw",
                        "path": f"{scene}/",
                    }
                },
                "uploadOptions": {"uploadCondition": "tasksuccess"},
            }
        ],
    }
    if rng.random() < 0.3:
        task["constraints"] = {"maxWallClockTime": "PT2H", "maxTaskRetryCount": 2}
    return task


def _etl_task(rng: random.Random, index: int, prefix: str) -> dict[str, Any]:
    table = rng.choice(_TABLES)
    region = rng.choice(_REGIONS)
    part = index
    task: dict[str, Any] = {
        "id": f"{prefix}etl-{table}-{part:06d}",
        "displayName": rng.choice(_ETL_NAMES).format(table=table, part=part, region=region),
        "commandLine": (
            f"/bin/sh -c 'python3 etl.py --table {table} --partition {part} --region {region}'"
        ),
        "resourceFiles": [
            {
                "storageContainerUrl": f"{_STORAGE}/etl-code?sv=2022-11-02&sp=rl",
                "blobPrefix": "etl/",
            }
        ],
        "environmentSettings": [
            {"name": "TABLE", "value": table},
            {"name": "PARTITION", "value": str(part)},
            {"name": "REGION", "value": region},
            {"name": "LOG_LEVEL", "value": rng.choice(["INFO", "DEBUG"])},
        ],
    }
    if rng.random() < 0.4:
        task["constraints"] = {
            "maxWallClockTime": rng.choice(["PT15M", "PT30M", "PT1H"]),
            "retentionTime": "P1D",
            "maxTaskRetryCount": rng.choice([0, 1, 3]),
        }
    if rng.random() < 0.1:
        task["userIdentity"] = {"autoUser": {"scope": "task", "elevationLevel": "nonadmin"}}
    return task


def sample_tasks(
    count: int, *, seed: int = 0, id_prefix: str = "", failure_rate: float = 0.0
) -> Iterator[dict[str, Any]]:
    """Yield `count` varied tasks (about 60% render, 40% ETL), reproducible for a seed.

    Args:
        count: how many tasks.
        seed: random seed; the same seed gives the same tasks.
        id_prefix: prepended to every task id (ids stay unique within one call).
        failure_rate: share of ETL tasks whose command line ends in ``|| exit 3`` — the
            emulator's simulated execution reads ``exit N`` as the exit code, so these fail.

    Returns:
        An iterator of task dicts in the service's JSON shape (`TaskAddParameter`).
    """
    rng = random.Random(seed)
    # A separate generator, so that failure_rate does not change the tasks themselves.
    fail_rng = random.Random(seed + 1)
    for index in range(count):
        if rng.random() < 0.6:
            yield _render_task(rng, index, id_prefix)
        else:
            task = _etl_task(rng, index, id_prefix)
            if failure_rate and fail_rng.random() < failure_rate:
                task["commandLine"] = task["commandLine"][:-1] + " || exit 3'"
            yield task
