"""Resource limits for one sandbox (DESIGN.md §5, layer 2).

The defaults suit small tools: a JSON function that answers in milliseconds. The tool host
and the test runner are separate sandboxes and each gets these limits. rlimits bind every
process of a sandbox; `memory_mb` and `max_processes` also bind the sandbox's whole process
tree through its cgroup where this machine has one (memfd and tmpfs pages included; see
sandbox/cgroup.py). `wall_time_s` is enforced by the parent per tool call and per suite.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_time_s: float = Field(
        default=10.0, gt=0, le=3600, description="per tool call and per suite (parent-enforced)"
    )
    cpu_time_s: int = Field(default=10, ge=1, le=3600, description="RLIMIT_CPU per process")
    memory_mb: int = Field(
        default=512, ge=64, le=65536,
        description="memory of the whole sandbox (cgroup) and RLIMIT_AS of each process",
    )
    max_processes: int = Field(
        default=32, ge=4, le=4096,
        description="processes and threads in one sandbox (cgroup pids.max and RLIMIT_NPROC)",
    )
    max_file_size_mb: int = Field(default=8, ge=1, le=4096, description="RLIMIT_FSIZE")
    max_open_files: int = Field(default=64, ge=16, le=65536, description="RLIMIT_NOFILE")
    max_output_bytes: int = Field(
        default=1_000_000, ge=4096, le=1 << 30, description="stdout and result bytes per process"
    )

    @property
    def work_dir_bytes(self) -> int:
        """Size of the private tmpfs: a few files of the maximum size, never less than 16 MiB."""
        return max(16, 4 * self.max_file_size_mb) << 20

    def for_sandbox(self) -> dict[str, Any]:
        """What the in-sandbox scripts need to apply (they are stdlib-only, no pydantic)."""
        return {
            "cpu_time_s": self.cpu_time_s,
            "memory_bytes": self.memory_mb << 20,
            "max_processes": self.max_processes,
            "max_file_size_bytes": self.max_file_size_mb << 20,
            "max_open_files": self.max_open_files,
            "max_output_bytes": self.max_output_bytes,
        }
