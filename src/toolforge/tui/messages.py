"""Messages that carry worker results back to the app (posted from threads: thread-safe)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from toolforge.service.models import DiffResult, ListResult, ToolDetail, ToolSummary
    from toolforge.validation.report import ValidationReport


@dataclass
class LoadedDetail:
    """Everything the detail tabs show for one tool, fetched together in one worker."""

    summary: ToolSummary
    detail: ToolDetail
    diff: DiffResult | None
    diff_error: str | None
    report: ValidationReport | None


class ToolsLoaded(Message):
    def __init__(self, result: ListResult) -> None:
        super().__init__()
        self.result = result


class DetailLoaded(Message):
    def __init__(self, key: str, loaded: LoadedDetail) -> None:
        super().__init__()
        self.key = key
        self.loaded = loaded


class ActionDone(Message):
    def __init__(self, action: str, tool: str, result: Any) -> None:
        super().__init__()
        self.action = action
        self.tool = tool
        self.result = result


class BackendFailed(Message):
    """A backend call raised: shown as a notification and in the status bar."""

    def __init__(self, action: str, tool: str | None, error: BaseException, *,
                 ends_action: bool = False) -> None:
        super().__init__()
        self.ends_action = ends_action  # the failed call was the running action
        self.action = action
        self.tool = tool
        self.error = error


class Progress(Message):
    """A log line of a running action (a validation's progress)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
