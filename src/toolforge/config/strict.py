"""Reading a settings file strictly: every problem names the key and the file.

An unknown key is an error (with the closest known key as a suggestion), and so is a value
of the wrong type or out of range; nothing is silently ignored or defaulted.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from toolforge.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

_SECRET_WORDS = ("key", "token", "secret", "password")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; FileNotFoundError passes through, anything else is a ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a settings file")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text")
    return parse_toml(text, path)


def parse_toml(text: str, path: Path | str) -> dict[str, Any]:
    """Parse TOML text read from `path`; any problem is a ConfigError naming the file."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}",
                          hint="fix the syntax (https://toml.io); `toolforge doctor` checks it")
    except RecursionError:
        raise ConfigError(f"{path} is nested too deeply to read",
                          hint="settings are a few flat tables; restore the file")


def validate(model: type[M], data: Mapping[str, Any], path: Path | str, *,
             hint: str | None = None) -> M:
    """`model.model_validate(data)`, with every error turned into one ConfigError that names
    each offending key (as a dotted path) and the file."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(model, err) for err in exc.errors()]
        shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more"
                                          if len(problems) > 6 else "")
        raise ConfigError(f"{path}: {shown}", hint=hint)


def dotted(parts: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in parts)


def is_secret_key(key: str) -> bool:
    """Keys whose values are never echoed in messages (api_key, a token...)."""
    last = key.rsplit(".", 1)[-1].lower()
    return any(word in last for word in _SECRET_WORDS) and not last.endswith("_env")


def show_value(key: str, value: Any, limit: int = 80) -> str:
    if is_secret_key(key):
        return "(hidden)"
    if isinstance(value, str) and "://" in value:  # a URL may carry a password
        from toolforge.urls import public_url

        value = public_url(value)
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(model: type[BaseModel], err: Any) -> str:
    loc = tuple(err["loc"])
    key = dotted(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        allowed = f"; known keys here: {', '.join(sorted(known))}" if known and not close \
            else ""
        return f"unknown key {key!r}{guess}{allowed}"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"{key}: required"
    return f"{key} = {show_value(key, err.get('input'))}: {message}"


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the (sub)model at `loc`, for "did you mean"."""
    current: Any = model
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = fields[part].annotation
    fields = getattr(current, "model_fields", None)
    return list(fields) if isinstance(current, type) and fields else []
