"""Which model each role uses, resolved from the environment and the user config.

The ``[llm]`` table comes from the user config (``toolforge.config.user``), never from a
library's committed toolforge.toml: a library must not choose the provider, the endpoint a
key is sent to, or the variable that holds the key (``toolforge.config.effective``).

Resolution order for a role's model (first hit wins):
  1. the role's environment variable (``TOOLFORGE_SYNTH_MODEL`` ...),
  2. ``[llm.roles]`` in the user config,
  3. ``TOOLFORGE_MODEL``,
  4. ``[llm] model``.
Connection settings follow the same idea: a role's own table beats the global environment,
which beats the global ``[llm]`` table. API keys never live in a settings file: the table
names an environment variable with ``api_key_env`` instead (checked when the role is used,
so a key you only export when you need it does not break other commands).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from toolforge.errors import ConfigError

Role = Literal["agent", "synthesis", "tests", "adversarial", "judge"]
ROLES: tuple[Role, ...] = get_args(Role)

ROLE_ENV: dict[Role, str] = {
    "agent": "TOOLFORGE_AGENT_MODEL",
    "synthesis": "TOOLFORGE_SYNTH_MODEL",
    "tests": "TOOLFORGE_TESTS_MODEL",
    "adversarial": "TOOLFORGE_ADVERSARIAL_MODEL",
    "judge": "TOOLFORGE_JUDGE_MODEL",
}
MODEL_ENV = "TOOLFORGE_MODEL"
EMBED_MODEL_ENV = "TOOLFORGE_EMBED_MODEL"
API_BASE_ENV = "TOOLFORGE_API_BASE"
API_KEY_ENV = "TOOLFORGE_API_KEY"


class ModelConfig(BaseModel):
    """Everything needed to call one model; what ``LLMClient`` consumes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1, description="any litellm model string")
    api_base: str | None = None
    # SecretStr so that repr(), logs and model_dump() show '**********'.
    api_key: SecretStr | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=20)
    max_tokens: int | None = Field(default=None, gt=0)
    backoff_initial_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    source: str = Field(default="", description="where the model string came from")


class _Tunables(BaseModel):
    """Settings shared by the global [llm] table and each [llm.roles.<role>] table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_base: str | None = None
    api_key: SecretStr | None = None
    # `api_key_env` named a variable that was not set: an error once the role is used.
    api_key_env_missing: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    timeout_s: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0, le=20)
    max_tokens: int | None = Field(default=None, gt=0)
    backoff_initial_s: float | None = Field(default=None, ge=0)
    backoff_max_s: float | None = Field(default=None, ge=0)


class RoleSettings(_Tunables):
    model: str | None = None
    source: str = ""


class LLMSettings(_Tunables):
    """Resolved settings for every role; build it with :func:`load_llm_settings`."""

    model: str | None = None
    model_source: str = ""
    embedding_model: str | None = None
    roles: dict[Role, RoleSettings] = Field(default_factory=dict)

    def for_role(self, role: str) -> ModelConfig:
        """The model config for ``role``; ConfigError with a how-to when none is set."""
        if role not in ROLES:
            raise ConfigError(f"unknown LLM role {role!r}", hint=f"roles are: {', '.join(ROLES)}")
        own = self.roles.get(role, RoleSettings())
        model, source = (own.model, own.source) if own.model else (self.model, self.model_source)
        if not model:
            raise ConfigError(f"no model configured for role {role!r}", hint=config_hint(role))
        return self._build(model, source, own)

    def embedding_config(self) -> ModelConfig:
        """The model used for embeddings (dense retrieval), which no role covers."""
        if not self.embedding_model:
            raise ConfigError(
                "no embedding model configured",
                hint=(
                    f"set {EMBED_MODEL_ENV}=openai/text-embedding-3-small (or any litellm "
                    'embedding model), or embedding_model = "..." in the [llm] table of '
                    "your user config (`toolforge paths` shows where)"
                ),
            )
        return self._build(self.embedding_model, "embedding_model", RoleSettings())

    def has_model(self, role: str) -> bool:
        """Whether a model is set for `role` (its connection settings may still be wrong)."""
        own = self.roles.get(role) if role in ROLES else None
        return bool((own.model if own else None) or self.model)

    def configured(self, role: str) -> bool:
        try:
            self.for_role(role)
        except ConfigError:
            return False
        return True

    def _build(self, model: str, source: str, own: _Tunables) -> ModelConfig:
        # Role table wins over the global settings, field by field.
        fields = {
            name: getattr(own, name) if getattr(own, name) is not None else getattr(self, name)
            for name in _Tunables.model_fields
        }
        fields.pop("api_key_env_missing")
        # A key named for this role (or, without one, globally) but not exported is an
        # error: falling back to another key would send it to an endpoint it is not for.
        missing = own.api_key_env_missing or (
            self.api_key_env_missing if own.api_key is None and self.api_key is None else None)
        if missing:
            raise ConfigError(f"api_key_env names {missing!r}, which is not set",
                              hint=f"export {missing}=<your key>")
        return ModelConfig(
            model=model, source=source, **{k: v for k, v in fields.items() if v is not None}
        )


def config_hint(role: str | None = None) -> str:
    """The exact how-to shown whenever a command needs a model and none is configured."""
    env_lines = [(f"export {MODEL_ENV}=openai/gpt-4o-mini", "# every role")]
    if role in ROLE_ENV:
        env_lines.append(
            (f"export {ROLE_ENV[role]}=ollama/qwen2.5-coder", f"# only the {role!r} role")
        )
    width = max(len(cmd) for cmd, _ in env_lines) + 2
    return "\n".join(
        [
            "Set a model (any litellm model string) in the environment:",
            *(f"  {cmd.ljust(width)}{comment}" for cmd, comment in env_lines),
            "or in your user config (`toolforge paths` shows where; never in a library's "
            "toolforge.toml):",
            "  [llm]",
            '  model = "openai/gpt-4o-mini"',
            "  [llm.roles]                          # optional, one model per role",
            '  synthesis = "ollama/qwen2.5-coder"',
            "Examples:",
            f"  OpenAI:             {MODEL_ENV}=openai/gpt-4o-mini  and  OPENAI_API_KEY=sk-...",
            f"  Ollama:             {MODEL_ENV}=ollama/llama3.1"
            f"  ({API_BASE_ENV}=... unless it runs on localhost:11434)",
            f"  OpenAI-compatible:  {MODEL_ENV}=openai/<served-model-name>  and",
            f"                      {API_BASE_ENV}=http://localhost:8000/v1"
            f"  ({API_KEY_ENV}=... if it needs a key)",
            f"Roles: {', '.join(ROLES)}; per-role variables: {', '.join(ROLE_ENV.values())}",
        ]
    )


def load_llm_settings(
    toml_table: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    origin: str = "user config",
) -> LLMSettings:
    """Merge the ``[llm]`` table of the user config with the environment.

    ``toml_table`` is the ``[llm]`` table; a whole parsed config (with an ``llm`` key) is
    accepted too. ``env`` defaults to ``os.environ``. ``origin`` names the file in sources
    and error messages.
    """
    env = os.environ if env is None else env
    table = dict(toml_table or {})
    if isinstance(table.get("llm"), Mapping) and "model" not in table:
        table = dict(table["llm"])

    raw_roles = table.pop("roles", {}) or {}
    if not isinstance(raw_roles, Mapping):
        raise ConfigError(f"{origin}: llm.roles must be a table", hint=config_hint())
    global_tunables = _tunables_from_toml(table, "llm", env, origin)
    model = table.pop("model", None)
    embedding_model = table.pop("embedding_model", None)
    if table:
        raise ConfigError(
            f"{origin}: unknown key(s) in [llm]: "
            f"{', '.join(repr(f'llm.{k}') for k in sorted(table))}",
            hint=_TOML_KEYS_HINT,
        )

    roles: dict[Role, RoleSettings] = {}
    for key, value in raw_roles.items():
        if key not in ROLES:
            raise ConfigError(
                f"{origin}: unknown role {key!r} in [llm.roles]",
                hint=f"roles are: {', '.join(ROLES)}",
            )
        if isinstance(value, str):
            roles[key] = RoleSettings(model=value, source=f"{origin} [llm.roles] {key}")
        elif isinstance(value, Mapping):
            role_table = dict(value)
            tunables = _tunables_from_toml(role_table, f"llm.roles.{key}", env, origin)
            role_model = role_table.pop("model", None)
            if role_table:
                raise ConfigError(
                    f"{origin}: unknown key(s) in [llm.roles.{key}]: "
                    f"{', '.join(repr(f'llm.roles.{key}.{k}') for k in sorted(role_table))}",
                    hint=_TOML_KEYS_HINT,
                )
            roles[key] = RoleSettings(
                model=_str_or_none(role_model, f"{origin}: llm.roles.{key}.model"),
                source=f"{origin} [llm.roles.{key}] model" if role_model else "",
                **tunables,
            )
        else:
            raise ConfigError(
                f"{origin}: llm.roles.{key} must be a model string or a table",
                hint=config_hint(key),
            )

    # Role environment variables beat everything the toml says about the model.
    for role, var in ROLE_ENV.items():
        value = env.get(var, "").strip()
        if value:
            current = roles.get(role, RoleSettings())
            roles[role] = current.model_copy(update={"model": value, "source": f"env {var}"})

    env_model = env.get(MODEL_ENV, "").strip()
    if env_model:
        model, model_source = env_model, f"env {MODEL_ENV}"
    else:
        model = _str_or_none(model, f"{origin}: llm.model")
        model_source = f"{origin} [llm] model" if model else ""

    env_base = env.get(API_BASE_ENV, "").strip()
    if env_base:
        global_tunables["api_base"] = env_base
    env_key = env.get(API_KEY_ENV, "").strip()
    if env_key:
        global_tunables["api_key"] = SecretStr(env_key)
        global_tunables.pop("api_key_env_missing", None)

    return LLMSettings(
        model=model,
        model_source=model_source,
        embedding_model=env.get(EMBED_MODEL_ENV, "").strip()
        or _str_or_none(embedding_model, f"{origin}: llm.embedding_model"),
        roles=roles,
        **global_tunables,
    )


_TOML_KEYS_HINT = (
    "allowed in [llm]: model, embedding_model, api_base, api_key_env, temperature, timeout_s, "
    "max_retries, max_tokens, backoff_initial_s, backoff_max_s, and a [llm.roles] table; "
    "a role entry is a model string or a table with model and the same settings"
)


def _tunables_from_toml(
    table: dict[str, Any], where: str, env: Mapping[str, str], origin: str
) -> dict[str, Any]:
    """Pop and validate the shared settings from ``table`` (mutates it)."""
    if "api_key" in table:
        raise ConfigError(
            f"{origin}: {where}.api_key: keys never live in a settings file",
            hint=f'name an environment variable instead: api_key_env = "MY_KEY", or set '
            f"{API_KEY_ENV}",
        )
    settable = set(_Tunables.model_fields) - {"api_key", "api_key_env_missing"}
    raw = {name: table.pop(name) for name in list(table) if name in settable}
    key_env = table.pop("api_key_env", None)
    if key_env is not None:
        if not isinstance(key_env, str) or not key_env.strip():
            raise ConfigError(f"{origin}: {where}.api_key_env must name an environment "
                              "variable", hint=_TOML_KEYS_HINT)
        key = env.get(key_env, "").strip()
        if key:
            raw["api_key"] = key
        else:
            raw["api_key_env_missing"] = key_env
    try:
        validated = _Tunables.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{where}.{'.'.join(str(p) for p in err['loc'])} = "
            f"{err.get('input')!r}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{origin}: {problems}", hint=_TOML_KEYS_HINT)
    return validated.model_dump(exclude_none=True)


def _str_or_none(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, got {type(value).__name__}")
    return value.strip() or None
