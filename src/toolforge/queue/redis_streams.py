"""The trajectory log on Redis Streams (>= 6.2): one stream per library, one consumer group
of workers.

Keys (the `{library}` hash tag keeps them in one slot):
- `toolforge:{<library id>}:trajectories` — the stream; field `trajectory` holds the JSON;
- `...:rejected` — entries that could not be used, with why (capped);
- `...:acked:<entry>` — which worker acknowledged an entry (kept `retention_days`);
- `...:cycle:<entry>`, `...:cycle-done:<cycle>` — which cycle consumed an entry, and
  whether that cycle finished.

Two operations must be atomic and are Lua scripts: renewing only the entries a worker still
holds (a worker that stalled must not take back entries another worker claimed), and
acknowledging only entries a worker still holds while recording who acknowledged them.
The `redis` package is imported here only, when a queue is configured.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from toolforge.errors import ConfigError, ToolforgeError
from toolforge.queue.base import LogEntry, LogStats
from toolforge.urls import public_url

if TYPE_CHECKING:
    import redis

FIELD = "trajectory"
FORMAT = "1"
REJECTED_MAX = 10_000
_RENEW = """
local total = 0
local start = '-'
while true do
  local held = redis.call('XPENDING', KEYS[1], ARGV[1], start, '+', 500, ARGV[2])
  if #held == 0 then break end
  -- min-idle 0 resets the idle time; JUSTID does not count a delivery
  local call = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0}
  for _, e in ipairs(held) do call[#call + 1] = e[1] end
  call[#call + 1] = 'JUSTID'
  redis.call(unpack(call))
  total = total + #held
  if #held < 500 then break end
  start = '(' .. held[#held][1]
end
return total
"""
_ACK = """
local acked = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local key = KEYS[i - 2]
  local held = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if #held > 0 then
    if held[1][2] == ARGV[2] then
      redis.call('XACK', KEYS[1], ARGV[1], id)
      redis.call('SET', key, ARGV[2], 'EX', tonumber(ARGV[3]))
      acked[#acked + 1] = id
    end
  elseif redis.call('GET', key) == ARGV[2] then
    acked[#acked + 1] = id
  end
end
return acked
"""


class QueueUnavailable(ToolforgeError):
    """The trajectory log (Redis) cannot be reached."""

    http_status = 503
    kind = "queue_unavailable"


class RedisStreamLog:
    def __init__(self, url: str, stream: str, group: str, *, retention_s: float) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigError("a Redis queue is configured but the redis package is not "
                              "installed", hint="pip install 'toolforge[redis]'") from None
        self._redis_mod = redis
        self.url = url
        self.stream = stream
        self.group = group
        self.retention_s = int(retention_s)
        self.name = f"{public_url(url)} stream {stream}"
        self._prefix = stream.rsplit(":", 1)[0] if ":" in stream else stream
        self._r: redis.Redis = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=5, socket_timeout=60,
            health_check_interval=30, retry_on_timeout=False)
        self._renew = self._r.register_script(_RENEW)
        self._ack = self._r.register_script(_ACK)
        self._group_ready = False

    # --- keys ----------------------------------------------------------------------------------

    def _key(self, kind: str, ident: str = "") -> str:
        return f"{self._prefix}:{kind}" + (f":{ident}" if ident else "")

    # --- agents --------------------------------------------------------------------------------

    def append(self, documents: list[dict[str, Any]]) -> list[str]:
        payloads = [json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
                    for doc in documents]

        def run() -> list[str]:
            pipe = self._r.pipeline(transaction=True)  # all or nothing, like the SQLite store
            for payload in payloads:
                pipe.xadd(self.stream, {FIELD: payload, "v": FORMAT})
            return [str(i) for i in pipe.execute()]

        return self._call(run)

    # --- workers -------------------------------------------------------------------------------

    def read(self, consumer: str, *, count: int, block_s: float) -> list[LogEntry]:
        self._ensure_group()
        block_ms = max(1, int(block_s * 1000)) if block_s > 0 else None
        reply = self._call(lambda: self._r.xreadgroup(
            self.group, consumer, {self.stream: ">"}, count=count, block=block_ms))
        return [_entry(i, f, 1) for i, f in _messages(reply)]

    def pending(self, consumer: str, *, count: int, after: str | None = None
                ) -> list[LogEntry]:
        self._ensure_group()
        reply = self._call(lambda: self._r.xreadgroup(
            self.group, consumer, {self.stream: after or "0"}, count=count))
        messages = _messages(reply)
        if not messages:
            return []
        counts = self._delivery_counts(consumer, [i for i, _ in messages])
        return [_entry(i, f, counts.get(i, 2)) for i, f in messages]

    def claim_stale(self, consumer: str, *, idle_s: float, count: int) -> list[LogEntry]:
        self._ensure_group()
        claimed: list[LogEntry] = []
        start = "0-0"
        while len(claimed) < count:
            reply = self._call(lambda s=start, n=count - len(claimed): self._r.xautoclaim(
                self.stream, self.group, consumer, int(idle_s * 1000), start_id=s, count=n))
            start, messages = str(reply[0]), reply[1]
            ids = [str(m[0]) for m in messages if m]
            counts = self._delivery_counts(consumer, ids) if ids else {}
            claimed += [_entry(str(m[0]), m[1], counts.get(str(m[0]), 2))
                        for m in messages if m]
            if start == "0-0":
                break
        return claimed

    def renew(self, consumer: str) -> int:
        self._ensure_group()
        return int(self._call(lambda: self._renew(keys=[self.stream],
                                                  args=[self.group, consumer])))

    def ack(self, consumer: str, ids: list[str]) -> list[str]:
        if not ids:
            return []
        self._ensure_group()
        done: list[str] = []
        for i in range(0, len(ids), 200):
            chunk = ids[i:i + 200]
            keys = [self.stream, *(self._key("acked", e) for e in chunk)]
            args = [self.group, consumer, max(60, self.retention_s), *chunk]
            done += [str(x) for x in self._call(lambda k=keys, a=args: self._ack(keys=k,
                                                                                 args=a))]
        return done

    def holders(self, ids: list[str]) -> dict[str, str | None]:
        if not ids:
            return {}
        self._ensure_group()

        def run() -> list[Any]:
            pipe = self._r.pipeline(transaction=False)
            for e in ids:
                pipe.xpending_range(self.stream, self.group, min=e, max=e, count=1)
                pipe.get(self._key("acked", e))
            return list(pipe.execute())

        replies = self._call(run)
        out: dict[str, str | None] = {}
        for n, e in enumerate(ids):
            held, acked = replies[2 * n], replies[2 * n + 1]
            out[e] = str(held[0]["consumer"]) if held else (str(acked) if acked else None)
        return out

    def reject(self, consumer: str, entry: LogEntry, reason: str) -> None:
        def run() -> None:
            self._r.xadd(self._key("rejected"), {"entry": entry.id, "reason": reason[:2000],
                                                 "consumer": consumer,
                                                 "data": json.dumps(entry.data)[:100_000]
                                                 if entry.data is not None else ""},
                         maxlen=REJECTED_MAX, approximate=True)

        self._call(run)
        self.ack(consumer, [entry.id])

    def remember_cycle(self, cycle_id: str, ids: list[str]) -> None:
        if not ids:
            return

        def run() -> None:
            pipe = self._r.pipeline(transaction=True)
            for e in ids:
                pipe.set(self._key("cycle", e), cycle_id, ex=max(60, self.retention_s))
            pipe.execute()

        self._call(run)

    def finish_cycle(self, cycle_id: str) -> None:
        self._call(lambda: self._r.set(self._key("cycle-done", cycle_id), str(time.time()),
                                       ex=max(60, self.retention_s)))

    def finished_cycles(self, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        cycles = self._call(lambda: self._r.mget([self._key("cycle", e) for e in ids]))
        wanted = {str(c) for c in cycles if c}
        if not wanted:
            return {}
        order = sorted(wanted)
        done = self._call(lambda: self._r.mget([self._key("cycle-done", c) for c in order]))
        finished = {c for c, d in zip(order, done, strict=True) if d}
        return {e: str(c) for e, c in zip(ids, cycles, strict=True) if c and c in finished}

    def trim(self) -> int:
        """Drop entries every group has acknowledged that are older than the retention."""
        self._ensure_group()

        def run() -> int:
            cutoff = f"{int((time.time() - self.retention_s) * 1000)}-0"
            bound = cutoff
            for g in self._r.xinfo_groups(self.stream):
                last = str(g.get("last-delivered-id") or "0-0")
                bound = min(bound, last, key=_id_key)
                summary = self._r.xpending(self.stream, str(g["name"]))
                if summary and summary.get("pending") and summary.get("min"):
                    bound = min(bound, str(summary["min"]), key=_id_key)
            return int(self._r.xtrim(self.stream, minid=bound))

        return self._call(run)

    def stats(self) -> LogStats:
        self._ensure_group()

        def run() -> LogStats:
            stats = LogStats(name=self.name, length=int(self._r.xlen(self.stream)))
            summary = self._r.xpending(self.stream, self.group) or {}
            stats.pending = int(summary.get("pending") or 0)
            stats.consumers = {str(c["name"]): int(c["pending"])
                               for c in summary.get("consumers") or []}
            for g in self._r.xinfo_groups(self.stream):
                if str(g["name"]) == self.group:
                    stats.last_delivered = str(g.get("last-delivered-id"))
            return stats

        return self._call(run)

    def close(self) -> None:
        self._r.close()

    # --- internals -----------------------------------------------------------------------------

    def _ensure_group(self) -> None:
        if self._group_ready:
            return

        def run() -> None:
            try:  # from the start: runs reported before any worker existed are not lost
                self._r.xgroup_create(self.stream, self.group, id="0", mkstream=True)
            except self._redis_mod.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

        self._call(run)
        self._group_ready = True

    def _delivery_counts(self, consumer: str, ids: list[str]) -> dict[str, int]:
        lo, hi = min(ids, key=_id_key), max(ids, key=_id_key)
        rows = self._call(lambda: self._r.xpending_range(
            self.stream, self.group, min=lo, max=hi, count=len(ids) + 100,
            consumername=consumer))
        return {str(r["message_id"]): int(r["times_delivered"]) for r in rows}

    def _call(self, fn: Any) -> Any:
        errors = self._redis_mod.exceptions
        try:
            return fn()
        except (errors.ConnectionError, errors.TimeoutError) as exc:
            raise QueueUnavailable(f"cannot reach the queue at {self.name}: {exc}",
                                   hint="is Redis running and reachable? check [queue] url "
                                        "(or TOOLFORGE_QUEUE)") from None
        except errors.AuthenticationError as exc:
            raise QueueUnavailable(f"the queue at {self.name} refused our credentials: {exc}",
                                   hint="check the user and password in [queue] url") from None
        except errors.ResponseError as exc:
            if "NOGROUP" in str(exc):  # the stream was deleted under us: make it again
                self._group_ready = False
            raise QueueUnavailable(f"the queue at {self.name} answered an error: {exc}"
                                   ) from None


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return 0, 0


def _messages(reply: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for _stream, messages in reply or []:
        for message in messages:
            if message:
                out.append((str(message[0]), message[1]))
    return out


def _entry(entry_id: str, fields: Any, deliveries: int) -> LogEntry:
    if not fields:  # deleted from the stream while it was pending
        return LogEntry(entry_id, None, deliveries, "the entry was deleted from the stream")
    raw = fields.get(FIELD) if isinstance(fields, dict) else None
    if raw is None:
        return LogEntry(entry_id, None, deliveries, f"no {FIELD!r} field")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return LogEntry(entry_id, None, deliveries, f"not JSON: {exc}")
    if not isinstance(data, dict):
        return LogEntry(entry_id, None, deliveries, "not a JSON object")
    return LogEntry(entry_id, data, deliveries)
