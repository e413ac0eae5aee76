"""The Python API: wrap any agent with a self-evolving tool library (the ARISE shape).

    from toolforge import Forge

    forge = Forge(agent_fn=my_agent, library="./library")
    result = forge.run("How many ERROR events ...?", expected=3)

`agent_fn(task, tools) -> str` receives the active tools as plain Python functions (real
signatures, docstrings and JSON schemas, ready for LangChain, smolagents or the OpenAI Agents
SDK through `toolforge.integrations`) that run the promoted code in the sandbox; every call
is recorded in the run's trajectory and in the library's usage records. Without `agent_fn` the
built-in function-calling agent runs. Failures accumulate; when the triggers fire, an
evolution cycle writes, validates and (by the library's policy) promotes the missing tools.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from toolforge.evolve.cycle import CycleReport
from toolforge.evolve.rewards import CallableCheck, coerce_expectation, score
from toolforge.evolve.tasks import Task
from toolforge.evolve.toolbox import ToolBox
from toolforge.evolve.trajectories import Step, Trajectory
from toolforge.library.store import resolve_library_path
from toolforge.llm.config import LLMSettings
from toolforge.service.evolution_service import EvolutionService

if TYPE_CHECKING:
    from toolforge.tte.loop import SolveResult

AgentFn = Callable[[str, list[Callable[..., Any]]], str]
RewardFn = Callable[[str, Any], float]


class RunResult(BaseModel):
    answer: str | None
    reward: float | None
    success: bool | None
    trajectory_id: str
    tools_used: list[str]
    error: str | None = None
    cycle: CycleReport | None = None


class Forge:
    def __init__(self, agent_fn: AgentFn | None = None, *, library: str | Path | None = None,
                 reward_fn: RewardFn | None = None, llm_settings: LLMSettings | None = None,
                 auto_evolve: bool = True, session: str | None = None,
                 queue: str | None = None) -> None:
        """`queue`: report runs to this trajectory log (e.g. redis://host:6379/0) for the
        workers to evolve from, instead of this library's store (default: the user
        config's `[queue] url` or TOOLFORGE_QUEUE). No cycle then runs in this process."""
        self.root = resolve_library_path(library)
        self.agent_fn = agent_fn
        self.reward_fn = reward_fn
        self.auto_evolve = auto_evolve
        self.session = session  # recorded with every tool call made through this Forge
        self.service = EvolutionService(self.root, llm_settings=llm_settings, queue=queue)
        self._toolbox = self._new_toolbox()

    def __enter__(self) -> Forge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._toolbox.close()
        self.service.close()

    # --- tools -----------------------------------------------------------------------------

    def tools(self) -> list[Callable[..., Any]]:
        """The active tools as Python functions: real `__signature__`, annotations,
        `__name__`, `__doc__` and `json_schema`; arguments are checked against the schema,
        the promoted code runs in the sandbox, failures raise toolforge errors."""
        return [self._toolbox.callable(name) for name in sorted(self._toolbox.tools)]

    def tool_schemas(self, fmt: str = "openai", *, strict: bool = False) -> Any:
        return self.service.library.export(fmt, strict=strict)

    def find_tools(self, query: str, k: int = 5) -> list[Callable[..., Any]]:
        """The k active tools most relevant to `query`, as functions (see `tools`)."""
        return [self._toolbox.callable(t.name) for t in self._toolbox.select(query, k)]

    def call(self, name: str, /, **arguments: Any) -> Any:
        """Call a tool by name: its value, or a toolforge error (UnknownToolError,
        BadArgumentsError, ToolCallFailedError with the failure's kind)."""
        return self._toolbox.callable(name)(**arguments)

    def _new_toolbox(self) -> ToolBox:
        # Calls through Python functions (tools(), call(), a custom agent) are "python";
        # the built-in agent's runs get a toolbox of their own ("agent").
        return self.service.toolbox(caller="python", session=self.session)

    # --- runs --------------------------------------------------------------------------------

    def run(self, task: str, expected: Any = None, *, check: Callable[[str], float] | None = None,
            task_id: str | None = None, group: str | None = None,
            session: str | None = None) -> RunResult:
        """Run the agent on one task, score it, record it, and evolve when triggered.
        `session` (default: the Forge's) is recorded with the run's tool calls; while a
        tool is on A/B trial it also keeps the run on one version of it."""
        if self.agent_fn is None:
            agent_tools = self.service.toolbox(caller="agent", session=session or self.session)
            t = self.service.run_task(Task(id=task_id or "api", task=task, group=group,
                                           expected=expected), agent_tools)
        elif session is not None and session != self.session:
            toolbox = self.service.toolbox(caller="python", session=session)
            try:
                t = self._run_custom(task, expected, check, task_id, group, toolbox)
            finally:
                toolbox.close()
        else:
            t = self._run_custom(task, expected, check, task_id, group, self._toolbox)
        cycle = None
        if self.auto_evolve:
            cycle = self.service.maybe_evolve()
            if cycle is not None:
                self._reload()
        return RunResult(answer=t.final_answer, reward=t.reward, success=t.success,
                         trajectory_id=t.id, tools_used=t.tools_used, error=t.error,
                         cycle=cycle)

    def solve(self, problem: str, expected: Any = None, *, group: str | None = None,
              capacity: int | None = None, tau_ret: float | None = None,
              tau_dup: float | None = None, k: int | None = None,
              auto_promote: bool = False) -> SolveResult:
        """Solve one problem by test-time tool evolution (docs/tte.md): decompose, reuse or
        synthesize a tool per sub-goal, execute, answer. The library evolves as it goes."""
        from toolforge.service.tte_service import RunOptions, TteService
        from toolforge.tte.problems import one_problem

        task = one_problem(problem, expected, group)
        tte = TteService(self.root, evolution=self.service)
        try:
            result = tte.solve(task, options=RunOptions(
                capacity=capacity, tau_ret=tau_ret, tau_dup=tau_dup, k=k,
                auto_promote=auto_promote))
        finally:
            tte.close()
        self._reload()
        return result

    def evolve(self, *, dry_run: bool = False) -> CycleReport:
        report = self.service.evolve(dry_run=dry_run)
        self._reload()
        return report

    def _reload(self) -> None:
        self._toolbox.close()
        self._toolbox = self._new_toolbox()

    def _run_custom(self, task: str, expected: Any, check: Callable[[str], float] | None,
                    task_id: str | None, group: str | None, toolbox: ToolBox) -> Trajectory:
        assert self.agent_fn is not None
        first_call = len(toolbox.calls)
        started = time.perf_counter()
        answer: str | None = None
        error: str | None = None
        try:
            answer = self.agent_fn(task, [toolbox.callable(n) for n in sorted(toolbox.tools)])
        except Exception as exc:  # the agent's own failure is data, not a crash
            error = f"{type(exc).__name__}: {exc}"
        calls = toolbox.calls[first_call:]
        steps = [Step(index=i, kind="tool_call", tool=c.tool, arguments=c.arguments,
                      result=c.result, error=c.error, duration_ms=c.duration_ms)
                 for i, c in enumerate(calls)]
        reward = self._reward(answer, expected, check)
        threshold = self.service.policy.reward_threshold
        success = (reward >= threshold) if reward is not None else (False if error else None)
        expectation = coerce_expectation(expected) if expected is not None else None
        trajectory = Trajectory(
            task_id=task_id, task=task, group=group, steps=steps,
            final_answer=None if answer is None else str(answer),
            expected=expectation if not isinstance(expectation, CallableCheck) else None,
            reward=reward, success=success, tools_offered=sorted(toolbox.tools),
            duration_ms=round((time.perf_counter() - started) * 1000, 1), error=error,
            source="api", metadata=toolbox.run_metadata(first_call),
        )
        return self.service.record(trajectory)

    def _reward(self, answer: str | None, expected: Any,
                check: Callable[[str], float] | None) -> float | None:
        if check is not None:
            return _clamp(check(answer or ""))
        if self.reward_fn is not None:
            return _clamp(self.reward_fn(answer or "", expected))
        if expected is None:
            return None
        return score(answer, coerce_expectation(expected))


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, float(value)))
