"""The built-in agent: a function-calling loop over one task, through the LLM client.

It is offered only the k tools most relevant to the task (tool overload hurts weak models),
every tool call runs in the sandbox, and the whole run becomes a trajectory.

A run cut short by the infrastructure (the model unreachable, a key refused, the sandbox
broken) is marked `error_kind = "infrastructure"`: it says nothing about the agent's tools,
so it must never count as a failed task (nor start an evolution cycle).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from toolforge.errors import ToolforgeError
from toolforge.evolve.prompts import AGENT_SYSTEM
from toolforge.evolve.toolbox import ToolBox, result_text
from toolforge.llm.client import LLMClient, LLMError
from toolforge.llm.parsing import ParseError


class AgentStep(BaseModel):
    index: int
    kind: str  # tool_call | message | error
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    result: Any = None
    error: str | None = None
    duration_ms: float = 0.0


class AgentRun(BaseModel):
    answer: str | None
    steps: list[AgentStep] = Field(default_factory=list)
    tools_offered: list[str] = Field(default_factory=list)
    tools_used: list[str] = Field(default_factory=list)
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: float = 0.0
    error: str | None = None
    error_kind: str | None = None  # "infrastructure": not the task's failure


INFRASTRUCTURE = "infrastructure"


class BuiltinAgent:
    def __init__(self, llm: LLMClient, toolbox: ToolBox, *, max_steps: int = 8,
                 top_k: int = 8, on_status: Callable[[str], None] | None = None) -> None:
        self.llm = llm
        self.toolbox = toolbox
        self.max_steps = max_steps
        self.top_k = top_k
        self.on_status = on_status or (lambda _text: None)  # what the run waits for now

    def run(self, task: str, *, max_steps: int | None = None) -> AgentRun:
        started = time.perf_counter()
        offered = self.toolbox.select(task, self.top_k)
        names = [t.name for t in offered]
        run = AgentRun(answer=None, tools_offered=names)
        messages: list[dict[str, Any]] = [
            {"role": "system",
             "content": AGENT_SYSTEM.render(tool_names=", ".join(names) or "none")},
            {"role": "user", "content": task},
        ]
        schemas = [t.schema() for t in offered] or None
        steps = max_steps or self.max_steps
        try:
            for _ in range(steps):
                self.on_status(f"waiting for the model ({self._model_name()})")
                completion = self.llm.complete("agent", messages, tools=schemas)
                run.model = completion.model
                run.prompt_tokens += completion.prompt_tokens
                run.completion_tokens += completion.completion_tokens
                run.cost_usd += completion.cost_usd
                if not completion.tool_calls:
                    run.answer = (completion.content or "").strip()
                    run.steps.append(AgentStep(index=len(run.steps), kind="message",
                                               result=run.answer))
                    break
                messages.append({
                    "role": "assistant",
                    "content": completion.content,
                    "tool_calls": [
                        {"id": c.id, "type": "function",
                         "function": {"name": c.name, "arguments": c.arguments}}
                        for c in completion.tool_calls
                    ],
                })
                for call in completion.tool_calls:
                    messages.append(self._execute(call, run, allowed=set(names)))
            else:
                run.error = f"no final answer after {steps} steps"
        except ParseError as exc:  # the model's own garbage: the task failed
            run.error = exc.message
            run.steps.append(AgentStep(index=len(run.steps), kind="error", error=run.error))
        except (LLMError, ToolforgeError) as exc:
            run.error = exc.message
            run.error_kind = INFRASTRUCTURE
            run.steps.append(AgentStep(index=len(run.steps), kind="error", error=run.error))
        run.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        return run

    def _model_name(self) -> str:
        try:
            return str(self.llm.settings.for_role("agent").model)
        except ToolforgeError:
            return "agent"

    def _execute(self, call: Any, run: AgentRun, *, allowed: set[str]) -> dict[str, Any]:
        try:
            arguments = call.parsed_arguments()
        except ParseError as exc:
            error = f"arguments are not valid JSON: {exc.message}"
            run.steps.append(AgentStep(index=len(run.steps), kind="tool_call", tool=call.name,
                                       error=error))
            return {"role": "tool", "tool_call_id": call.id,
                    "content": json.dumps({"error": error})}
        if call.name not in allowed:
            error = f"unknown tool {call.name!r}"
            run.steps.append(AgentStep(index=len(run.steps), kind="tool_call", tool=call.name,
                                       arguments=arguments, error=error))
            return {"role": "tool", "tool_call_id": call.id,
                    "content": json.dumps({"error": error})}
        self.on_status(f"running the tool {call.name}")
        record = self.toolbox.call(call.name, arguments)
        if call.name not in run.tools_used:
            run.tools_used.append(call.name)
        run.steps.append(AgentStep(index=len(run.steps), kind="tool_call", tool=call.name,
                                   arguments=arguments, result=record.result,
                                   error=record.error, duration_ms=record.duration_ms))
        return {"role": "tool", "tool_call_id": call.id, "content": result_text(record)}
