"""Concurrent HTTP load with ``wrk`` (the Debian package's, built with LuaJIT), for the
public and the static benchmarks, so that every side of a comparison is loaded by the
same compiled client and a Python client does not take a CPU from the server.

wrk runs one thread per connection (``-t N -c N``): each connection then has its own Lua
state, and the script below makes it ask for a list of *steps* in turn, round-robin. A
*view* is ``view`` consecutive steps (a page and the data it loads, for Fava; one page
for everything else); the script times each view from the moment wrk writes its first
request to the moment the last answer is read (``clock_gettime(CLOCK_MONOTONIC)`` through
LuaJIT's ffi), and checks every answer: status 200, and the expected text in the body or
the expected body length. wrk's ``done()`` callback prints, per connection, the views
completed, the answers found wrong and the view times, and wrk's own summary (requests,
socket errors); ``run`` reads them back.

Views per second are counted per connection, from its first request to its last
completed view, and summed over the connections: a view cut off by the end of the round
counts against neither side. That matters when a view takes seconds (Fava at 100,000
entries under 8 clients) and a round holds only a few of them.
"""

from __future__ import annotations

import math
import resource
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Step:
    """One GET of a view: the answer must be 200 and contain ``text`` (if given) and be
    ``size`` bytes long (if given)."""

    path: str
    text: str | None = None
    size: int | None = None


def _lua_string(value: str) -> str:
    """A Lua string literal of ``value``'s UTF-8 bytes, every byte escaped."""
    return '"' + "".join(f"\\{b}" for b in value.encode("utf-8")) + '"'


SCRIPT = """\
-- Written by bench/wrk.py. Each connection (one per wrk thread, so one Lua state each)
-- asks for STEPS in turn; VIEW consecutive steps make one timed view.
local STEPS = {
%(steps)s
}
local VIEW = %(view)d
local CONNECTIONS = %(connections)d

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } sf_timespec;
int clock_gettime(int clock, sf_timespec *ts);
]]
local ts = ffi.new("sf_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local threads = {}
local made = 0
function setup(thread)
  thread:set("id", made)
  made = made + 1
  table.insert(threads, thread)
end

function init(args)
  local n = #STEPS
  local start = math.floor(id * n / CONNECTIONS)
  pos = (start - start %% VIEW) %% n  -- 0-based, at the start of a view
  current = 1
  views, bad, what = 0, 0, ""
  first, last, began = 0, 0, 0
  samples = {}
  requests = {}
  for i, step in ipairs(STEPS) do requests[i] = wrk.format("GET", step.path) end
end

-- wrk calls request() once more on the first thread to check the script before the
-- run starts, so request() only reads the position; response() moves it on. (One
-- request is in flight per connection, and a reconnection asks for the same step again.)
function request()
  current = pos + 1
  if pos %% VIEW == 0 then began = now_us() end
  return requests[current]
end

function response(status, headers, body)
  local step = STEPS[current]
  local wrong = nil
  if status ~= 200 then
    wrong = "status " .. status
  elseif step.size and #body ~= step.size then
    wrong = #body .. " bytes, not " .. step.size
  elseif step.text and not string.find(body, step.text, 1, true) then
    wrong = "the expected text missing"
  end
  if wrong then
    bad = bad + 1
    if what == "" then what = wrong .. " on " .. step.path end
  end
  pos = current %% #STEPS
  if current %% VIEW == 0 then
    last = now_us()
    if views == 0 then first = began end
    views = views + 1
    samples[views] = math.floor(last - began + 0.5)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SF-SUMMARY %%d %%d %%d %%d %%d %%d %%d\\n", summary.duration,
    summary.requests, e.connect, e.read, e.write, e.status, e.timeout))
  for _, t in ipairs(threads) do
    io.write(string.format("SF-THREAD %%d %%d %%d %%s\\n", t:get("views"), t:get("bad"),
      math.floor(t:get("last") - t:get("first") + 0.5), t:get("what")))
    io.write("SF-SAMPLES " .. table.concat(t:get("samples"), " ") .. "\\n")
  end
end
"""


def script(steps: list[Step], *, view: int, connections: int) -> str:
    """The Lua script that makes each connection ask for ``steps`` in turn."""
    if not steps or len(steps) % view:
        raise ValueError("the steps must be whole views")
    lines = []
    for step in steps:
        fields = [f"path = {_lua_string(step.path)}"]
        if step.text is not None:
            fields.append(f"text = {_lua_string(step.text)}")
        if step.size is not None:
            fields.append(f"size = {step.size}")
        lines.append("  { " + ", ".join(fields) + " },")
    return SCRIPT % {"steps": "\n".join(lines), "view": view, "connections": connections}


@dataclass
class Run:
    """What one wrk run measured."""

    connections: int
    duration: float  # wrk's own, seconds
    requests: int  # answers read, as wrk counts them
    views: int  # views completed
    spans: list[float]  # per connection: first request to last completed view, seconds
    counts: list[int]  # per connection: views completed
    samples: list[float]  # view times, seconds
    socket_errors: dict[str, int] = field(default_factory=dict)
    bad: int = 0  # answers that were not 200 or lacked the expected text or length
    what: str = ""  # the first wrong answer
    cpu: float = 0.0  # CPU seconds wrk itself used

    @property
    def rate(self) -> float:
        """Views per second: each connection's views over its span, summed."""
        return sum(n / s for n, s in zip(self.counts, self.spans, strict=True) if s > 0)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def p95(self) -> float:
        """95th percentile (nearest rank), as ``bench.ledger_bench.Spread``."""
        if not self.samples:
            return math.nan
        ordered = sorted(self.samples)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]

    @property
    def worst(self) -> float:
        return max(self.samples) if self.samples else math.nan

    @property
    def cpu_share(self) -> float:
        """wrk's CPU time over the run's length: the share of one CPU it took."""
        return self.cpu / self.duration if self.duration else 0.0

    def problem(self) -> str | None:
        """Why the run does not count, if it does not."""
        if self.bad:
            return f"{self.bad:,} wrong answers, the first: {self.what}"
        errors = {k: v for k, v in self.socket_errors.items() if v}
        if errors:
            return "socket errors: " + ", ".join(f"{k} {v:,}" for k, v in errors.items())
        if not self.views:
            return "no view completed"
        return None


def find() -> str | None:
    return shutil.which("wrk")


def run(port: int, steps: list[Step], *, view: int = 1, connections: int = 8,
        seconds: float = 10.0, timeout: float = 300.0, host: str = "127.0.0.1",
        wrk: str | None = None) -> Run:
    """Load ``http://host:port`` with wrk for ``seconds``: ``connections`` connections, one
    thread each, each asking for ``steps`` in turn (starting at different steps, whole
    views apart)."""
    tool = wrk or find()
    if tool is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="sf_wrk-") as folder:
        lua = Path(folder) / "views.lua"
        lua.write_text(script(steps, view=view, connections=connections), encoding="utf-8")
        command = [tool, "-t", str(connections), "-c", str(connections),
                   "-d", f"{max(1, round(seconds))}s", "--timeout", f"{max(1, round(timeout))}s",
                   "-s", str(lua), f"http://{host}:{port}/"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=seconds + timeout + 60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr.strip()[:500]}")
    return parse(done.stdout, connections,
                 cpu=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def parse(output: str, connections: int, *, cpu: float = 0.0) -> Run:
    """A ``Run`` from the lines the script's ``done()`` printed."""
    result = Run(connections, 0.0, 0, 0, [], [], [], cpu=cpu)
    for line in output.splitlines():
        if line.startswith("SF-SUMMARY "):
            duration, requests, *errors = (int(v) for v in line.split()[1:8])
            result.duration = duration / 1e6
            result.requests = requests
            result.socket_errors = dict(zip(("connect", "read", "write", "status", "timeout"),
                                            errors, strict=True))
        elif line.startswith("SF-THREAD "):
            parts = line.split(" ", 4)
            views, bad, span = int(parts[1]), int(parts[2]), int(parts[3])
            result.counts.append(views)
            result.spans.append(span / 1e6)
            result.views += views
            result.bad += bad
            if bad and not result.what:
                result.what = parts[4] if len(parts) > 4 else "?"
        elif line.startswith("SF-SAMPLES"):
            result.samples.extend(int(v) / 1e6 for v in line.split()[1:])
    if not result.duration:
        raise RuntimeError("wrk printed no summary: " + output.strip()[-500:])
    return result
