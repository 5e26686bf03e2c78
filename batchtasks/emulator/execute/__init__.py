"""Real execution of tasks (``--execute``): a pool of local virtual nodes running each task's
command line as a process. Opt-in; processes run as the emulator's own user.

Modules, one job each: `pool` (nodes and task slots), `process` (one command line as a process
group), `environment` (the AZ_BATCH_* variables), `transfer` (resource and output files),
`runner` (`ProcessRunner`, the lifecycle's runner that ties them together).
"""

from .runner import ExecuteConfig, ProcessRunner

__all__ = ["ExecuteConfig", "ProcessRunner"]
