"""Which settings a daemon took from its environment, so a client can tell when its own
differ.

A daemon reads environment variables once, when it starts (the user config file it reads
again on every use). A shell that exports `TOOLFORGE_QUEUE` or `TOOLFORGE_MODEL` after some
command started the daemon would otherwise be served silently with the old values: runs
stored here instead of going to the queue, cycles without a model. The daemon publishes a
digest of each settings variable in its health document (digests, not values: keys are
secrets) and a client names the variables that differ from its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

# Variables that carry settings (docs/config.md#environment-variables): the ones that
# decide where runs go, which model and endpoint a cycle uses, and how tools are run.
# Switches of one command (TOOLFORGE_NO_DAEMON, TOOLFORGE_SESSION, timeouts of the
# client) are not the daemon's business.
SETTINGS_VARS = (
    "TOOLFORGE_CONFIG",
    "TOOLFORGE_QUEUE",
    "TOOLFORGE_MODEL",
    "TOOLFORGE_AGENT_MODEL",
    "TOOLFORGE_SYNTH_MODEL",
    "TOOLFORGE_TESTS_MODEL",
    "TOOLFORGE_ADVERSARIAL_MODEL",
    "TOOLFORGE_JUDGE_MODEL",
    "TOOLFORGE_EMBED_MODEL",
    "TOOLFORGE_API_BASE",
    "TOOLFORGE_API_KEY",
    "TOOLFORGE_SANDBOX",
    "TOOLFORGE_BWRAP",
    "TOOLFORGE_DENSE",
)
# Provider keys litellm reads (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...).
KEY_SUFFIX = "_API_KEY"


def fingerprint(environ: Mapping[str, str]) -> dict[str, str]:
    """{variable: short digest of its value} for every settings variable that is set."""
    return {name: _digest(value) for name, value in sorted(environ.items())
            if value.strip() and (name in SETTINGS_VARS or name.endswith(KEY_SUFFIX))}


def drift(daemon: Mapping[str, str] | None, mine: Mapping[str, str]) -> list[str]:
    """The variables set differently here and in the daemon (None: a daemon too old to say)."""
    if daemon is None:
        return []
    return sorted(name for name in set(daemon) | set(mine) if daemon.get(name) != mine.get(name))


def drift_warning(health_env: Mapping[str, str] | None, environ: Mapping[str, str]) -> str | None:
    names = drift(health_env, fingerprint(environ))
    if not names:
        return None
    return (f"the library's daemon was started with other values of {', '.join(names)} "
            f"than this shell has, and it uses its own; restart it with "
            f"`toolforge daemon restart` to apply yours")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:16]
