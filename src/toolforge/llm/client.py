"""The one place toolforge talks to LLMs, through litellm.

litellm takes seconds to import, so it is imported inside :func:`_litellm`, on the first
call, never at module level (an import test guards this). Every call goes through
:meth:`LLMClient.complete` (or :meth:`LLMClient.embed`): one model per role, our own
retries with backoff (the SDK's own retries are off, so attempts are counted once), and a
:class:`~toolforge.llm.usage.CallRecord` in the ledger for successes and failures alike.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from toolforge.errors import ToolforgeError
from toolforge.llm.config import API_BASE_ENV, API_KEY_ENV, LLMSettings, ModelConfig, config_hint
from toolforge.llm.parsing import ParseError, detect_refusal, extract_json
from toolforge.llm.usage import CallRecord, UsageLedger

_T = TypeVar("_T")
_MAX_ERROR_CHARS = 400
# OpenAI-compatible servers (vLLM, llama.cpp, the scripted model) often need no key, but the
# openai SDK refuses to start without one.
_PLACEHOLDER_KEY = "no-key-required"


class LLMError(ToolforgeError):
    """An LLM call failed for good (after retries where retrying made sense)."""

    http_status = 502
    kind = "llm"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        role: str | None = None,
        model: str | None = None,
        attempts: int = 1,
        status_code: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        self.role = role
        self.model = model
        self.attempts = attempts
        self.status_code = status_code
        # True when the failure was transient (rate limit, timeout, 5xx) and retries ran out.
        self.retryable = retryable

    @property
    def unavailable(self) -> bool:
        """The model cannot be used now, whatever is asked: unreachable, overloaded, or
        refusing our credentials or model name (unlike a request of its own that failed,
        such as a prompt over the context window)."""
        return self.retryable or self.status_code in (401, 403, 404)


class ToolCallRequest(BaseModel):
    """A tool call the model asked for; ``arguments`` is the raw string the model produced."""

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; ParseError when the model produced something else."""
        if not self.arguments.strip():
            return {}
        value = extract_json(self.arguments)
        if not isinstance(value, dict):
            raise ParseError(f"tool call arguments are not a JSON object: {self.arguments[:80]}")
        return value


class Completion(BaseModel):
    content: str | None
    tool_calls: list[ToolCallRequest] = Field(default_factory=list)
    model: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    # False when litellm has no price for the model (local or scripted models).
    cost_known: bool = True
    latency_ms: float = 0.0
    role: str
    attempts: int = 1
    # A refusal (the API's own field, or detected in the text), or "empty output".
    refusal: str | None = None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


_LITELLM: ModuleType | None = None
_IMPORT_LOCK = threading.Lock()


def _litellm() -> ModuleType:
    """Import and quieten litellm once (seconds the first time, free afterwards)."""
    global _LITELLM
    with _IMPORT_LOCK:
        if _LITELLM is None:
            # Use the bundled price table: no fetch from GitHub at import (offline machines,
            # reproducible costs). Set the variable to "False" to get live prices.
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            import litellm

            litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners
            litellm.drop_params = True  # a param a provider lacks is dropped, not an error
            litellm.telemetry = False
            litellm.turn_off_message_logging = True  # prompts stay out of callback logs
            litellm.disable_hf_tokenizer_download = True
            _LITELLM = litellm
    return _LITELLM


class LLMClient:
    """Calls the model configured for a role and records every call in ``ledger``."""

    def __init__(self, settings: LLMSettings, ledger: UsageLedger | None = None) -> None:
        self.settings = settings
        self.ledger = ledger if ledger is not None else UsageLedger()
        # Injectable for tests; real sleeps in production.
        self.sleep: Callable[[float], None] = time.sleep

    def load(self) -> None:
        """Import the model library now (it takes seconds), e.g. before a progress display
        starts, so that the display is live from its first frame."""
        _litellm()

    def complete(
        self,
        role: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        response_format: dict[str, Any] | type[BaseModel] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """One chat completion; LLMError on failure, ConfigError when no model is set."""
        cfg = self.settings.for_role(role)
        kwargs: dict[str, Any] = {"messages": [dict(m) for m in messages]}
        if tools:
            kwargs["tools"] = tools
            # litellm's MCP-gateway check imports the optional `mcp` package whenever tools
            # are given (ModuleNotFoundError without it); we never route tools through its
            # gateway. litellm strips this internal flag before the provider request.
            kwargs["_skip_mcp_handler"] = True
            if tool_choice is not None:
                kwargs["tool_choice"] = tool_choice
        if response_format is not None:
            kwargs["response_format"] = response_format
        temp = temperature if temperature is not None else cfg.temperature
        if temp is not None:
            kwargs["temperature"] = temp
        limit = max_tokens if max_tokens is not None else cfg.max_tokens
        if limit is not None:
            kwargs["max_tokens"] = limit

        def call(litellm: ModuleType) -> Any:
            return litellm.completion(**_connection_kwargs(cfg), **kwargs)

        started = time.perf_counter()
        response, attempts = self._with_retries(role, cfg, call, started)
        latency_ms = (time.perf_counter() - started) * 1000
        try:
            completion = _to_completion(response, role, cfg, latency_ms, attempts)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            self._record_failure(role, cfg, latency_ms, attempts, f"unusable response: {exc}")
            raise LLMError(
                f"{role} model {cfg.model} returned an unusable response: {exc}",
                role=role,
                model=cfg.model,
                attempts=attempts,
            ) from exc
        self.ledger.record(
            CallRecord(
                role=role,
                model=cfg.model,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost_usd=completion.cost_usd,
                cost_known=completion.cost_known,
                latency_ms=latency_ms,
                attempts=attempts,
            )
        )
        return completion

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embedding vectors for ``texts`` from the configured embedding model."""
        cfg = self.settings.embedding_config()
        if not texts:
            return []
        payload = list(texts)

        def call(litellm: ModuleType) -> Any:
            return litellm.embedding(input=payload, **_connection_kwargs(cfg))

        started = time.perf_counter()
        response, attempts = self._with_retries("embedding", cfg, call, started)
        latency_ms = (time.perf_counter() - started) * 1000
        try:
            rows = sorted(response.data, key=lambda d: _get(d, "index", 0))
            vectors = [list(map(float, _get(row, "embedding"))) for row in rows]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            self._record_failure("embedding", cfg, latency_ms, attempts, str(exc))
            raise LLMError(f"embedding model {cfg.model} returned an unusable response") from exc
        usage = getattr(response, "usage", None)
        cost, known = _cost(response, "embedding")
        self.ledger.record(
            CallRecord(
                role="embedding",
                model=cfg.model,
                prompt_tokens=int(_get(usage, "prompt_tokens", 0) or 0),
                cost_usd=cost,
                cost_known=known,
                latency_ms=latency_ms,
                attempts=attempts,
            )
        )
        return vectors

    # retries

    def _with_retries(
        self,
        role: str,
        cfg: ModelConfig,
        call: Callable[[ModuleType], _T],
        started: float,
    ) -> tuple[_T, int]:
        litellm = _litellm()
        attempt = 0
        while True:
            attempt += 1
            try:
                return call(litellm), attempt
            except Exception as exc:  # litellm maps provider errors onto its own classes
                retryable = _is_retryable(litellm, exc)
                if retryable and attempt <= cfg.max_retries:
                    self.sleep(_backoff_s(cfg, attempt, exc))
                    continue
                latency_ms = (time.perf_counter() - started) * 1000
                summary = _summarize(exc)
                self._record_failure(role, cfg, latency_ms, attempt, summary)
                raise LLMError(
                    f"{role} model {cfg.model} failed after {attempt} attempt"
                    f"{'s' if attempt > 1 else ''}: {summary}",
                    hint=_hint_for(litellm, exc, cfg),
                    role=role,
                    model=cfg.model,
                    attempts=attempt,
                    status_code=_status_code(exc),
                    retryable=retryable,
                ) from exc

    def _record_failure(
        self, role: str, cfg: ModelConfig, latency_ms: float, attempts: int, error: str
    ) -> None:
        self.ledger.record(
            CallRecord(
                role=role,
                model=cfg.model,
                latency_ms=latency_ms,
                ok=False,
                error=error,
                attempts=attempts,
            )
        )


def _connection_kwargs(cfg: ModelConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": cfg.model,
        "timeout": cfg.timeout_s,
        "max_retries": 0,  # the SDK must not retry behind our back
    }
    if cfg.api_base:
        kwargs["api_base"] = cfg.api_base
    if cfg.api_key is not None:
        kwargs["api_key"] = cfg.api_key.get_secret_value()
    elif cfg.api_base:
        # A custom endpoint gets only a key configured with it (api_key_env,
        # TOOLFORGE_API_KEY), never a provider's ambient one such as OPENAI_API_KEY, which
        # litellm would otherwise send to whatever api_base says.
        kwargs["api_key"] = _PLACEHOLDER_KEY
    return kwargs


def _is_retryable(litellm: ModuleType, exc: Exception) -> bool:
    permanent = (
        litellm.AuthenticationError,
        litellm.PermissionDeniedError,
        litellm.BadRequestError,  # includes context-window and content-policy errors
        litellm.NotFoundError,
        litellm.UnprocessableEntityError,
    )
    if isinstance(exc, permanent):
        return False
    transient = (
        litellm.RateLimitError,
        litellm.Timeout,
        litellm.APIConnectionError,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        litellm.BadGatewayError,
    )
    if isinstance(exc, transient):
        return True
    status = _status_code(exc)
    return status is not None and (status >= 500 or status in (408, 429))


def _status_code(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _backoff_s(cfg: ModelConfig, attempt: int, exc: Exception) -> float:
    """Exponential backoff with jitter; a server's Retry-After wins when it is sane."""
    delay = min(cfg.backoff_max_s, cfg.backoff_initial_s * 2.0 ** (attempt - 1))
    jittered = delay * (0.5 + random.random() / 2)  # spread out clients retrying together
    retry_after = _retry_after_s(exc)
    if retry_after is not None and retry_after <= cfg.backoff_max_s:
        return max(retry_after, jittered)
    return jittered


def _retry_after_s(exc: Exception) -> float | None:
    try:
        headers = getattr(getattr(exc, "response", None), "headers", None) or {}
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


_ERROR_PREFIX = re.compile(r"^(?:litellm\.)?\w+(?:Error|Exception)(?::\s*|\s+-\s+)")


def _summarize(exc: Exception) -> str:
    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    # litellm stacks "litellm.RateLimitError: RateLimitError: ..." prefixes; keep one.
    while (m := _ERROR_PREFIX.match(text)) is not None and m.end() < len(text):
        text = text[m.end() :]
    if len(text) > _MAX_ERROR_CHARS:
        text = text[:_MAX_ERROR_CHARS] + "..."
    return f"{type(exc).__name__}: {text}"


def _hint_for(litellm: ModuleType, exc: Exception, cfg: ModelConfig) -> str | None:
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        return (
            f"check the API key: {API_KEY_ENV}, api_key_env in [llm] of your user config, "
            "or the provider's own variable (e.g. OPENAI_API_KEY; never sent to an "
            "api_base you did not pair a key with)"
        )
    if isinstance(exc, litellm.NotFoundError):
        return f"check the model name {cfg.model!r}; any litellm model string works"
    if isinstance(exc, litellm.Timeout):
        return f"the model took longer than timeout_s={cfg.timeout_s:g}; raise it in [llm]"
    if isinstance(exc, litellm.APIConnectionError) or _caused_by_connection_error(exc):
        where = cfg.api_base or "the provider"
        return f"is {where} reachable? set {API_BASE_ENV} for a local or compatible server"
    if isinstance(exc, litellm.BadRequestError) and "model" in str(exc).lower():
        return config_hint()
    return None


def _caused_by_connection_error(exc: BaseException) -> bool:
    """litellm reports a refused connection as a 500; the cause chain tells the truth."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, ConnectionError) or type(current).__name__ == "ConnectError":
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key access: litellm returns objects, some providers plain dicts."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _cost(response: Any, call_type: str) -> tuple[float, bool]:
    """(cost, known): litellm's price table, or (0.0, False) for models it does not know."""
    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost") if isinstance(hidden, Mapping) else None
    if isinstance(cost, int | float):
        return float(cost), True
    try:
        value = _litellm().completion_cost(completion_response=response, call_type=call_type)
    except Exception:  # "model isn't mapped yet" and friends: price unknown
        return 0.0, False
    return (float(value), True) if isinstance(value, int | float) else (0.0, False)


def _to_completion(
    response: Any, role: str, cfg: ModelConfig, latency_ms: float, attempts: int
) -> Completion:
    choice = response.choices[0]
    message = _get(choice, "message")
    content = _get(message, "content")
    calls: list[ToolCallRequest] = []
    for index, call in enumerate(_get(message, "tool_calls") or []):
        function = _get(call, "function")
        arguments = _get(function, "arguments", "")
        if not isinstance(arguments, str):  # some providers hand back parsed arguments
            arguments = json.dumps(arguments)
        calls.append(
            ToolCallRequest(
                id=str(_get(call, "id") or f"call_{index}"),
                name=str(_get(function, "name") or ""),
                arguments=arguments,
            )
        )
    usage = _get(response, "usage")
    cost, known = _cost(response, "completion")
    refusal = _get(message, "refusal")
    if not refusal and not calls:
        refusal = detect_refusal(content if isinstance(content, str) else None)
    return Completion(
        content=content if isinstance(content, str) else None,
        tool_calls=calls,
        model=str(_get(response, "model") or cfg.model),
        finish_reason=_get(choice, "finish_reason"),
        prompt_tokens=int(_get(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(_get(usage, "completion_tokens", 0) or 0),
        cost_usd=cost,
        cost_known=known,
        latency_ms=latency_ms,
        role=role,
        attempts=attempts,
        refusal=str(refusal) if refusal else None,
    )
