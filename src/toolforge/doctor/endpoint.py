"""Does a model's endpoint answer? One cheap GET, no model call (no tokens spent).

OpenAI-compatible servers (OpenAI, vLLM, LM Studio, the scripted model...) answer
`GET <api_base>/models`; Ollama answers `GET /api/tags`. Any HTTP answer means the endpoint
is up; 401/403 means it refuses the key. A key goes only where the client would send it: to
an api_base it was configured with, or to the provider's own default endpoint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Where litellm sends a provider's requests when no api_base is configured.
DEFAULT_ENDPOINTS = {
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "ollama": ("http://localhost:11434", None),
    "ollama_chat": ("http://localhost:11434", None),
}
TIMEOUT_S = 5.0


@dataclass(frozen=True)
class EndpointAnswer:
    url: str | None  # None: no endpoint check for this provider
    ok: bool
    status: int | None = None
    detail: str = ""
    scripted: bool = False  # the scripted model (not a real LLM) answered


def endpoint_of(model: str, api_base: str | None) -> tuple[str | None, str | None]:
    """(base URL, the provider variable whose key the default endpoint gets)."""
    if api_base:
        return api_base, None
    provider = model.split("/", 1)[0] if "/" in model else "openai"
    base, key_env = DEFAULT_ENDPOINTS.get(provider, (None, None))
    return base, key_env


def probe_endpoint(model: str, api_base: str | None, api_key: str | None) -> EndpointAnswer:
    import httpx

    base, key_env = endpoint_of(model, api_base)
    if base is None:
        return EndpointAnswer(url=None, ok=True, detail=f"no endpoint check for provider "
                              f"{model.split('/', 1)[0]!r}; the first model call will tell")
    ollama = model.startswith(("ollama/", "ollama_chat/")) and not base.rstrip("/").endswith(
        "/v1")
    url = base.rstrip("/") + ("/api/tags" if ollama else "/models")
    key = api_key or (os.environ.get(key_env, "") if key_env else "")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(url, headers=headers, timeout=TIMEOUT_S, follow_redirects=False)
    except httpx.HTTPError as exc:
        return EndpointAnswer(url=url, ok=False,
                              detail=f"no answer: {type(exc).__name__}: {exc}"[:300])
    scripted = response.headers.get("x-toolforge-model") == "scripted"
    if response.status_code in (401, 403):
        return EndpointAnswer(url=url, ok=False, status=response.status_code,
                              detail="it answers, but refuses the key", scripted=scripted)
    return EndpointAnswer(url=url, ok=True, status=response.status_code,
                          detail=f"answers (HTTP {response.status_code})", scripted=scripted)
