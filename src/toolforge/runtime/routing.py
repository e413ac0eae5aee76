"""Which version of a tool serves a call while a new version is on A/B trial.

A trial is committed in the candidate's tool.toml (`[trial]`), so every runtime that reads
the library (this machine's daemon, MCP servers, agents on other machines after a sync)
routes the same way. A call with a session id always gets the same arm for that session
(a hash of trial id and session), so one agent's run sees one version; a call without a
session draws at random. `Runtime.resolve` is the only caller.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Arm = Literal["baseline", "candidate"]


class TrialSpec(BaseModel):
    """The `[trial]` table of a candidate's tool.toml."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    share: float = Field(ge=0.0, le=1.0)  # of calls that go to the candidate
    episodes: int = Field(ge=1)  # runs (both arms) before the trial is decided
    baseline: int = Field(ge=1)  # the active version it is compared against
    started_at: str


def choose_arm(trial_id: str, share: float, session: str | None,
               draw: Callable[[], float] = random.random) -> Arm:
    """The arm of one call: stable per (trial, session), else drawn with `share`."""
    if share <= 0.0:
        return "baseline"
    if share >= 1.0:
        return "candidate"
    if session:
        digest = hashlib.sha256(f"{trial_id}\0{session}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2 ** 64
    else:
        point = draw()
    return "candidate" if point < share else "baseline"
