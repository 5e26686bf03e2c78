"""The virtual nodes of an executing emulator and their task slots.

A `NodePool` is ``nodes`` nodes of ``task_slots_per_node`` slots each. A task takes its
``requiredSlots`` on one node; a multi-instance task takes them on ``numberOfInstances`` distinct
nodes (the primary first). A retried task goes back to the node it ran on, so it keeps its task
directory. Only the event loop thread changes the pool; the lifecycle places tasks on a copy
(`snapshot`) inside its transaction and the runner reserves the result after commit. Must not
start processes or touch files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..states import NODE_ID

__all__ = ["NodePool", "Placement", "node_id"]


def node_id(index: int) -> str:
    """The ID of virtual node `index` (node 0 is the simulated emulator's one node)."""
    return f"{NODE_ID[: -len(str(index))]}{index}" if index else NODE_ID


@dataclass(frozen=True)
class Placement:
    """Where one run of a task goes: its nodes (primary first) and the slots taken on each."""

    nodes: tuple[str, ...]
    slots: int


class NodePool:
    """Free slots per node.

    Args:
        nodes: how many virtual nodes (>= 1).
        task_slots_per_node: slots of each node (>= 1).
    """

    def __init__(self, nodes: int, task_slots_per_node: int) -> None:
        if nodes < 1 or task_slots_per_node < 1:
            raise ValueError("an executing pool needs at least one node with one task slot")
        self.ids = [node_id(i) for i in range(nodes)]
        self.slots_per_node = task_slots_per_node
        self.free = dict.fromkeys(self.ids, task_slots_per_node)
        #: (job, task) key -> the node a task last ran on (retries go back there).
        self.last_node: dict[tuple[str, str], str] = {}

    def snapshot(self) -> dict[str, int]:
        """A copy of the free slots, for `place` to consume within one step."""
        return dict(self.free)

    def place(
        self, free: dict[str, int], key: tuple[str, str], task: dict[str, Any]
    ) -> Placement | bool | None:
        """Take room for `task` from `free`.

        Returns:
            The placement; None when there is no room now; False when the task can never run on
            this pool (more slots than a node has, more instances than nodes).
        """
        slots = int(task.get("requiredSlots") or 1)
        instances = int((task.get("multiInstanceSettings") or {}).get("numberOfInstances") or 1)
        if slots > self.slots_per_node or instances > len(self.ids):
            return False
        pinned = self.last_node.get(key)
        if pinned is not None and instances == 1:
            candidates = [pinned] if free.get(pinned, 0) >= slots else []
        else:
            # Least busy first, so work spreads over the nodes as a pool's scheduler spreads it.
            candidates = sorted((n for n in self.ids if free[n] >= slots), key=lambda n: -free[n])
        if len(candidates) < instances:
            return None
        chosen = tuple(candidates[:instances])
        for node in chosen:
            free[node] -= slots
        return Placement(chosen, slots)

    def reserve(self, key: tuple[str, str], placement: Placement) -> None:
        """Take a placement's slots for real (after the lifecycle stored the task as running)."""
        for node in placement.nodes:
            self.free[node] -= placement.slots
        self.last_node[key] = placement.nodes[0]

    def release(self, placement: Placement) -> None:
        """Give a finished run's slots back."""
        for node in placement.nodes:
            self.free[node] += placement.slots

    def forget(self, key: tuple[str, str]) -> None:
        """The task completed: a later reactivation may run anywhere."""
        self.last_node.pop(key, None)
