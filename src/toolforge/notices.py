"""Notices from the core that a user should see but that fail nothing (a damaged state
database moved aside): the CLI shows them as warnings, other hosts get them logged."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("toolforge")

_listeners: list[Callable[[str], None]] = []


def listen(callback: Callable[[str], None]) -> None:
    if callback not in _listeners:
        _listeners.append(callback)


def notify(text: str) -> None:
    if not _listeners:
        log.warning("%s", text)
    for callback in list(_listeners):
        callback(text)
