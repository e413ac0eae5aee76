"""The evolution worker in the review TUI: its events as status-line messages.

The daemon publishes `evolution_status` (idle, cycle, paused, budget, ...), `cycle_started`,
`cycle_finished`, `trial_decided`, `library_synced`, `library_curated`, and the cycle job's
log lines (`job_log`). The app shows them on the status line and refreshes the tool list
when the library changed.
"""

from __future__ import annotations

from typing import Any

# Events after which the tool list may have changed.
LIBRARY_EVENTS = frozenset({"cycle_finished", "trial_decided", "library_synced",
                            "library_curated"})
SEVERITY = {"paused": "error", "queue_down": "error", "budget": "warning",
            "no_model": "warning"}


class EvolutionFeed:
    """Turns evolution events into one-line messages; follows the running cycle's job."""

    def __init__(self) -> None:
        self.cycle_job: int | None = None

    def message(self, event: dict[str, Any]) -> tuple[str, str] | None:
        """(text, severity) for the status line, or None when the event is not ours."""
        kind = event.get("type")
        if kind == "evolution_status":
            state = str(event.get("state", ""))
            if state == "cycle" and isinstance(event.get("job"), int):
                self.cycle_job = event["job"]
            return f"evolution: {event.get('detail') or state}", SEVERITY.get(state,
                                                                              "information")
        if kind == "cycle_started":
            self.cycle_job = event.get("job") if isinstance(event.get("job"), int) else None
            return (f"evolution: cycle {str(event.get('cycle', ''))[:12]} started on "
                    f"{event.get('failures', '?')} failed run(s)", "information")
        if kind == "job_log" and self.cycle_job is not None and event.get("job") == \
                self.cycle_job:
            return f"evolution: {event.get('line', '')}", "information"
        if kind == "cycle_finished":
            self.cycle_job = None
            outcomes = event.get("outcomes") or {}
            done = ", ".join(f"{n} {s}" for s, n in sorted(outcomes.items())) or "no gap"
            error = event.get("error")
            return (f"evolution: cycle {str(event.get('cycle', ''))[:12]} finished: "
                    f"{error or done}", "warning" if error else "information")
        if kind == "trial_decided":
            return (f"A/B trial of {event.get('tool')}: {event.get('outcome')}",
                    "information")
        if kind == "library_synced":
            return (f"synced: {event.get('pulled', 0)} in, {event.get('pushed', 0)} out",
                    "information")
        if kind == "library_curated":
            return (f"curated: {event.get('stale', 0)} stale, {event.get('retired', 0)} "
                    "retired", "information")
        return None
