"""Evolution budgets: what cycles may spend, from the user config (`[evolution]`).

Tokens and USD per hour and per day, and cycles per hour, counted over the cycles of the
library's cycle log in a sliding window. A cycle that *would* pass a budget does not start:
its likely cost is the mean of the last few cycles that called a model, so a library whose
cycles cost 9,000 tokens stops at 41,001 of a 50,000 budget instead of overshooting to
59,000. The answer says which budget, how much is spent, and when the window frees up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from toolforge.errors import ToolforgeError

if TYPE_CHECKING:
    from toolforge.deploy.settings import EvolutionSettings
    from toolforge.evolve.triggers import CycleLog

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class BudgetExceeded(ToolforgeError):
    """A cycle was not started: it would pass an evolution budget."""

    http_status = 429
    kind = "budget"


class Spent(BaseModel):
    window: str  # "hour" | "day"
    tokens: int = 0
    usd: float = 0.0
    cycles: int = 0


class BudgetCheck(BaseModel):
    ok: bool
    reason: str = ""  # why not (empty when ok)
    spent: list[Spent] = Field(default_factory=list)
    estimate_tokens: int = 0  # what the next cycle will probably cost
    estimate_usd: float = 0.0
    retry_at: str | None = None  # when the window that stops it has room again

    def raise_if_over(self, config_path: str | None) -> None:
        if not self.ok:
            where = config_path or "the user config"
            raise BudgetExceeded(
                f"evolution cycle not started: {self.reason}",
                hint=f"budgets are [evolution] in {where} (docs/config.md); "
                     "`toolforge evolve --ignore-budget` runs one anyway")


def check_budget(cycles: CycleLog, limits: EvolutionSettings, *,
                 now: datetime | None = None) -> BudgetCheck:
    """Whether one more cycle fits every budget (0 = no limit), and if not, why."""
    now = now or datetime.now(UTC)
    recent = cycles.recent_costs(5)
    est_tokens = round(sum(t for t, _ in recent) / len(recent)) if recent else 0
    est_usd = sum(u for _, u in recent) / len(recent) if recent else 0.0
    check = BudgetCheck(ok=True, estimate_tokens=est_tokens, estimate_usd=est_usd)
    for label, span, token_limit, usd_limit in (
            ("hour", HOUR, limits.tokens_per_hour, limits.usd_per_hour),
            ("day", DAY, limits.tokens_per_day, limits.usd_per_day)):
        tokens, usd, count = cycles.spent_since(now - span)
        check.spent.append(Spent(window=label, tokens=tokens, usd=round(usd, 6), cycles=count))
        if check.ok and token_limit and tokens + est_tokens > token_limit:
            check.ok = False
            check.reason = (f"tokens per {label}: {tokens:,} spent"
                            + (f" + ~{est_tokens:,} for a cycle" if est_tokens else "")
                            + f" would pass the budget of {token_limit:,}")
            check.retry_at = _frees_up(cycles, now, span)
        if check.ok and usd_limit and usd + est_usd > usd_limit:
            check.ok = False
            check.reason = (f"USD per {label}: ${usd:.4f} spent"
                            + (f" + ~${est_usd:.4f} for a cycle" if est_usd else "")
                            + f" would pass the budget of ${usd_limit:.2f}")
            check.retry_at = _frees_up(cycles, now, span)
    if check.ok and limits.max_cycles_per_hour:
        count = check.spent[0].cycles
        if count >= limits.max_cycles_per_hour:
            check.ok = False
            check.reason = (f"cycles per hour: {count} in the last hour, the budget is "
                            f"{limits.max_cycles_per_hour}")
            check.retry_at = _frees_up(cycles, now, HOUR)
    return check


def _frees_up(cycles: CycleLog, now: datetime, span: timedelta) -> str | None:
    """When the oldest cycle of the window leaves it."""
    started = cycles.started_since(now - span)
    if not started:
        return None
    oldest = datetime.fromisoformat(started[0])
    return (oldest + span).astimezone(UTC).isoformat(timespec="seconds")
