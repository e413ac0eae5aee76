"""One line above the footer: the connection to the daemon, and the latest message."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from toolforge.terminal import printable_line

CONNECTION_STYLE = {"live": "bold green", "connecting": "yellow", "disconnected": "bold red",
                    "local": "cyan"}
MESSAGE_STYLE = {"information": "", "warning": "yellow", "error": "bold red"}


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.connection = "connecting"
        self.connection_detail = ""
        self.message = ""
        self.severity = "information"

    def set_connection(self, state: str, detail: str = "") -> None:
        self.connection, self.connection_detail = state, printable_line(detail)
        self._render_line()

    def set_message(self, text: str, severity: str = "information") -> None:
        first = text.splitlines()[0] if text.strip() else ""
        self.message, self.severity = printable_line(first), severity
        self._render_line()

    def _render_line(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("● " if self.connection == "live" else "○ ",
                    style=CONNECTION_STYLE.get(self.connection, ""))
        line.append(self.connection, style=CONNECTION_STYLE.get(self.connection, ""))
        if self.connection_detail:
            line.append(f" {self.connection_detail}", style="dim")
        if self.message:
            line.append("  │  ", style="dim")
            line.append(self.message, style=MESSAGE_STYLE.get(self.severity, ""))
        self.update(line)

    @property
    def text(self) -> str:
        """The line as plain text (what a test reads)."""
        return f"{self.connection} {self.connection_detail} {self.message}".strip()
