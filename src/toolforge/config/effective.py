"""What applies: a library's toolforge.toml combined with the user's own settings.

A library's settings are data from whoever wrote the library. The rule, key by key:

| toolforge.toml key | applies when |
| --- | --- |
| promotion, capacity, thresholds, hand_edits, [evolve] | always (library policy) |
| [sandbox] backend | it isolates at least as much as the user's backend |
| [sandbox] limits (wall_time_s, memory_mb, ...) | at or below the user's limit |
| [sandbox] fuzz = false | the user switched the attack off too |
| [policy] allow_file_access / allow_network / allowed_imports | the user config grants it |
| [sandbox] allow_unisolated, everything in [llm] | never: the user's alone |

Anything else a library says is refused: it does not apply, and it is reported (validation
reports, `toolforge doctor`, `init --from`) with the user-side setting that would allow it.
Refusals of the user's-alone keys are `dropped`: `init --from` leaves them out of the new
library's toolforge.toml, since no user setting makes them apply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel

from toolforge.config.strict import show_value
from toolforge.config.user import LoadedUserConfig, load_user_config
from toolforge.errors import ConfigError
from toolforge.library.discovery import SETTINGS_FILE
from toolforge.library.settings import BackendName, LibrarySettings, load_settings
from toolforge.safety.policy import SafetyPolicy
from toolforge.sandbox.limits import Limits

if TYPE_CHECKING:
    from toolforge.llm.config import LLMSettings

SANDBOX_ENV = "TOOLFORGE_SANDBOX"
BACKEND_NAMES: tuple[str, ...] = get_args(BackendName)
# Weakest first. "auto" means "the most isolating that works here", so a library may only
# sharpen it into a demand for the strongest backend.
ISOLATION_ORDER: tuple[str, ...] = ("rlimit", "landlock", "bwrap")
USER_ONLY_SANDBOX_KEYS = ("allow_unisolated",)


class Refusal(BaseModel):
    """One setting of a library's toolforge.toml that does not apply, and why."""

    key: str  # dotted: "sandbox.backend", "llm.roles.judge.api_base", "policy.allowed_imports"
    value: str  # as shown to people ("(hidden)" for secrets)
    reason: str
    fix: str | None = None  # the user-side setting that would allow it, if any
    dropped: bool = False  # the user's alone: `init --from` leaves it out

    def message(self, file: Path | str = SETTINGS_FILE) -> str:
        return f"{file}: {self.key} = {self.value} ignored: {self.reason}"


@dataclass(frozen=True)
class EffectiveSettings:
    """The settings every command acts on; build them with :func:`effective_settings`."""

    library: LibrarySettings  # the file as written (defaults when there is no library)
    library_file: Path | None
    user: LoadedUserConfig
    backend: str  # "auto" or a backend name
    backend_source: str  # where the backend choice came from, for people
    limits: Limits
    policy: SafetyPolicy
    fuzz: bool
    allow_unisolated: bool
    refused: tuple[Refusal, ...] = ()

    def refusal_messages(self) -> list[str]:
        file = self.library_file or SETTINGS_FILE
        return [r.message(file) for r in self.refused]

    def llm_settings(self, env: Mapping[str, str] | None = None) -> LLMSettings:
        """Models per role: the user config's [llm] table and the environment, never the
        library's (see toolforge.llm.config)."""
        from toolforge.llm.config import load_llm_settings

        return load_llm_settings(self.user.config.llm, env, origin=self.user.label)


def effective_settings(root: Path | None, env: Mapping[str, str] | None = None,
                       user: LoadedUserConfig | None = None) -> EffectiveSettings:
    """Read the library's toolforge.toml (if `root` is given), the user config and the
    environment, strictly, and combine them. ConfigError names the key and the file of the
    first broken setting found; call this before any mutation."""
    env = os.environ if env is None else env
    user = user or load_user_config()
    library = load_settings(root) if root is not None else LibrarySettings()
    effective = combine(library, user, env,
                        library_file=root / SETTINGS_FILE if root is not None else None)
    effective.llm_settings(env)  # a broken [llm] table is a broken config too
    return effective


def combine(library: LibrarySettings, user: LoadedUserConfig, env: Mapping[str, str], *,
            library_file: Path | None = None) -> EffectiveSettings:
    """The pure part of :func:`effective_settings`."""
    refused: list[Refusal] = []
    mine = user.config.sandbox
    theirs = library.sandbox
    asked = theirs.model_fields_set
    where = str(user.path)

    backend, backend_source = _user_backend(user, env)
    if "backend" in asked and theirs.backend != "auto" and theirs.backend != backend:
        if _strength(theirs.backend) >= _strength(backend):
            backend_source = (f"{library_file or SETTINGS_FILE} (stricter than your "
                              f"{backend!r} from {backend_source})")
            backend = theirs.backend
        else:
            refused.append(Refusal(
                key="sandbox.backend", value=repr(theirs.backend),
                reason=f"it isolates less than your backend {backend!r} ({backend_source})",
                fix=f'choose it yourself if you mean it: backend = "{theirs.backend}" under '
                f"[sandbox] in {where}, or {SANDBOX_ENV}={theirs.backend}"))

    fuzz = mine.fuzz
    if "fuzz" in asked and not theirs.fuzz and mine.fuzz:
        refused.append(Refusal(
            key="sandbox.fuzz", value="false", reason="it switches off the property attack",
            fix=f"only you can switch it off: fuzz = false under [sandbox] in {where}"))

    for key in USER_ONLY_SANDBOX_KEYS:
        if key in asked:
            refused.append(Refusal(
                key=f"sandbox.{key}", value=show_value(key, getattr(theirs, key)),
                reason="only you can accept validation without an isolating sandbox",
                fix=f"{key} = true under [sandbox] in {where}, or `toolforge promote NAME "
                "--allow-unisolated`", dropped=True))

    limits = _limits(theirs, mine, asked, where, refused)
    policy = _policy(library.policy, user.config.policy, where, refused)

    for key, value in _flatten(library.llm, ("llm",)):
        refused.append(Refusal(
            key=key, value=show_value(key, value),
            reason="models, endpoints and API keys come only from you (user config, "
            "environment or command line), never from a library",
            fix=f"set what you want under [llm] in {where}, or TOOLFORGE_MODEL / "
            "TOOLFORGE_API_BASE / TOOLFORGE_API_KEY in the environment", dropped=True))

    return EffectiveSettings(
        library=library, library_file=library_file, user=user, backend=backend,
        backend_source=backend_source, limits=limits, policy=policy, fuzz=fuzz,
        allow_unisolated=mine.allow_unisolated, refused=tuple(refused))


def _user_backend(user: LoadedUserConfig, env: Mapping[str, str]) -> tuple[str, str]:
    value = env.get(SANDBOX_ENV, "").strip().lower()
    if value:
        if value not in BACKEND_NAMES:
            raise ConfigError(f"{SANDBOX_ENV}={value!r} is not a sandbox backend",
                              hint=f"use one of: {', '.join(BACKEND_NAMES)}, or unset it")
        return value, f"env {SANDBOX_ENV}"
    if "backend" in user.config.sandbox.model_fields_set:
        return user.config.sandbox.backend, user.label
    return "auto", "default"


def _strength(backend: str) -> int:
    if backend == "auto":
        return len(ISOLATION_ORDER) - 1
    return ISOLATION_ORDER.index(backend)


def _limits(theirs: Any, mine: Any, asked: set[str], where: str,
            refused: list[Refusal]) -> Limits:
    """Each limit the library sets applies when it is no looser than the user's. Every
    numeric limit is an upper bound (more is looser); a limit of any other kind cannot be
    compared, so it stays the user's alone."""
    values = mine.limits().model_dump()
    for name in sorted(asked & set(Limits.model_fields)):
        wanted, allowed = getattr(theirs, name), values[name]
        numeric = isinstance(wanted, int | float) and not isinstance(wanted, bool)
        if numeric and wanted <= allowed:
            values[name] = wanted
        elif numeric:
            refused.append(Refusal(
                key=f"sandbox.{name}", value=repr(wanted),
                reason=f"it is above your limit of {allowed}",
                fix=f"raise your limit if you mean it: {name} = {wanted} under [sandbox] in "
                f"{where}"))
        else:
            refused.append(Refusal(
                key=f"sandbox.{name}", value=show_value(name, wanted),
                reason="only your own settings can change it",
                fix=f"{name} under [sandbox] in {where}", dropped=True))
    return Limits.model_validate(values)


def _policy(theirs: SafetyPolicy, mine: SafetyPolicy, where: str,
            refused: list[Refusal]) -> SafetyPolicy:
    """A library's policy asks; the user's policy grants. What applies is what both say."""
    flags: dict[str, bool] = {}
    for flag in ("allow_file_access", "allow_network"):
        wanted, granted = getattr(theirs, flag), getattr(mine, flag)
        flags[flag] = wanted and granted
        if wanted and not granted:
            refused.append(Refusal(
                key=f"policy.{flag}", value="true",
                reason="your user config does not grant it to libraries",
                fix=f"grant it if you trust this library's tools with it: {flag} = true "
                f"under [policy] in {where}"))
    imports: list[str] = []
    for module in theirs.allowed_imports:
        if any(module == g or module.startswith(g + ".") for g in mine.allowed_imports):
            imports.append(module)
        else:
            refused.append(Refusal(
                key="policy.allowed_imports", value=repr(module),
                reason="your user config does not grant this import to libraries",
                fix=f'grant it if you trust this library\'s tools with it: add "{module}" to '
                f"allowed_imports under [policy] in {where}"))
    return SafetyPolicy(allowed_imports=imports, **flags)


def _flatten(table: Mapping[str, Any], prefix: tuple[str, ...]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in table.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            out.extend(_flatten(value, path))
        else:
            out.append((".".join(path), value))
    return out
