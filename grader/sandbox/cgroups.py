"""Control groups per sandbox: a hard cap on its processes and its memory.

A sandbox holds its warm parent and one worker at a time, so its groups'
limits are that worker's, plus the parent's small share.

Rlimits are per process (and RLIMIT_NPROC does not bind root's user
namespace), so a fork bomb or many children that each stay under the memory
rlimit need a limit on the whole tree: the kernel's ``pids`` and ``memory``
controllers. Where they cannot be written (no permission, no such
controller) the sandbox runs without them and says so.
"""
from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_path(controller: str) -> Path | None:
    """This process's cgroup folder for a v1 controller, if it is mounted."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            mount = ROOT / controller
            if mount.is_dir():
                return mount / path.lstrip("/")
    return None


_swept: set[Path] = set()


def _sweep(parent: Path) -> None:
    """Once per process: remove the empty groups of grading processes that died (kill -9)."""
    if parent in _swept:
        return
    _swept.add(parent)
    for folder in parent.glob("grader-*"):
        owner = folder.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            try:
                folder.rmdir()  # fails, harmlessly, while a process is still inside
            except OSError:
                pass


class ControlGroups:
    """A sandbox's groups under the pids and memory controllers."""

    CONTROLLERS = ("pids", "memory")

    def __init__(self):
        self.folders: dict[str, Path] = {}
        self.limits: tuple[int, int] | None = None
        name = f"grader-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        for controller in self.CONTROLLERS:
            parent = _own_path(controller)
            if parent is None:
                continue
            _sweep(parent)
            try:
                (parent / name).mkdir()
            except OSError:
                continue
            self.folders[controller] = parent / name

    def limit(self, processes: int, memory_bytes: int) -> None:
        """Cap the whole group; where a limit cannot be written, the group goes."""
        if self.limits == (processes, memory_bytes):
            return
        self.limits = (processes, memory_bytes)
        files = {"pids": [("pids.max", processes)],
                 # no swap to escape into, where the kernel accounts it
                 "memory": [("memory.limit_in_bytes", memory_bytes),
                            ("memory.memsw.limit_in_bytes", memory_bytes)]}
        for controller, folder in list(self.folders.items()):
            try:
                for name, value in files[controller]:
                    if name == "memory.limit_in_bytes" or (folder / name).exists():
                        (folder / name).write_text(str(value))
            except OSError:
                del self.folders[controller]
                _remove(folder)

    def procs_files(self) -> list[int]:
        """Open ``cgroup.procs`` files: the process that writes "0" to one joins it.

        The kernel checks the rights of whoever opened the file, so a process
        that can no longer see the cgroup file system can still be put in its group.
        """
        return [os.open(folder / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
                for folder in self.folders.values()]

    def kill_all(self) -> None:
        """SIGKILL every member."""
        for folder in self.folders.values():
            for _ in range(20):  # a forking process may add members while we kill
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def remove(self) -> None:
        self.kill_all()
        for folder in self.folders.values():
            _remove(folder)
        self.folders = {}


def _remove(folder: Path) -> None:
    for _ in range(50):  # the last members may take a moment to leave
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
