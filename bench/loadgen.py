"""Load generation on loopback: wrk when it is on PATH, else a Python fallback.

measure(base_url, paths, ...) runs a warm-up, then a timed run with keep-alive connections that
cycle through `paths`, and returns requests/s, latency percentiles and error counts.

wrk gets a Lua script that hands each connection the next path of the list (each wrk thread
starts at a different offset) and prints its summary as JSON from done(). The fallback is
processes × threads of http.client keep-alive connections; it tops out far lower than wrk (it
competes with the server for the same cores and is Python), so its figures are comparable with
each other but not with wrk's: the result says which tool measured.
"""

from __future__ import annotations

import http.client
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Callable
from urllib.parse import urlsplit

LUA = """
local paths = {%(paths)s}
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
function init(args)
  i = (offset or 0) * 7919 %% #paths
end
function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"p50_us":%%d,"p90_us":%%d,' ..
    '"p99_us":%%d,"mean_us":%%.1f,"max_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class Result:
    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    errors: int            # socket errors and timeouts
    non_2xx: int           # HTTP status >= 400 (wrk counts >= 400 as status errors)
    bytes_per_request: float

    def as_dict(self) -> dict:
        return asdict(self)


def combine(results: list[Result]) -> Result:
    """Several timed runs of one target as one: rates from the totals, percentiles the median of
    the runs' percentiles (exact when there is one run)."""
    if len(results) == 1:
        return results[0]
    n = sum(r.requests for r in results)
    seconds = sum(r.seconds for r in results)

    def median(values: list[float]) -> float:
        values = sorted(values)
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else round((values[mid - 1] + values[mid]) / 2, 3)

    return Result(tool=results[0].tool, requests=n, seconds=round(seconds, 2),
                  rps=round(n / seconds, 1) if seconds else 0.0,
                  p50_ms=median([r.p50_ms for r in results]),
                  p90_ms=median([r.p90_ms for r in results]),
                  p99_ms=median([r.p99_ms for r in results]),
                  mean_ms=round(sum(r.mean_ms * r.requests for r in results) / n, 3) if n else 0.0,
                  errors=sum(r.errors for r in results), non_2xx=sum(r.non_2xx for r in results),
                  bytes_per_request=round(sum(r.bytes_per_request * r.requests for r in results) / n, 1)
                  if n else 0.0)


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def measure(base_url: str, paths: list[str], *, duration: float, connections: int,
            warmup: float = 2.0, threads: int = 2, tool: str | None = None,
            before: Callable[[], None] | None = None,
            headers: dict[str, str] | None = None) -> Result:
    """Warm up, call `before` (e.g. to snapshot server CPU time), then run the timed load.

    `headers` go on every request (e.g. a member's session cookie)."""
    tool = tool or ("wrk" if have_wrk() else "python")
    run = _wrk if tool == "wrk" else _python
    headers = headers or {}
    if warmup > 0:
        run(base_url, paths, warmup, connections, threads, headers)
    if before is not None:
        before()
    return run(base_url, paths, duration, connections, threads, headers)


# ---- wrk ------------------------------------------------------------------------------------

def _lua_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run_wrk(base_url: str, script_text: str, duration: float, connections: int, threads: int,
             headers: dict[str, str] | None = None) -> str:
    """Run wrk with a Lua script; its stdout."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(script_text)
    header_args = [arg for name, value in (headers or {}).items()
                   for arg in ("-H", f"{name}: {value}")]
    try:
        return subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
             "--timeout", "10s", *header_args, "-s", script.name, base_url],
            capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)


def _wrk_summary(out: str) -> Result:
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    s = json.loads(line[len("WRKJSON "):])
    seconds = s["duration_us"] / 1e6
    n = s["requests"]
    return Result(tool="wrk", requests=n, seconds=round(seconds, 2),
                  rps=round(n / seconds, 1) if seconds else 0.0,
                  p50_ms=s["p50_us"] / 1000, p90_ms=s["p90_us"] / 1000,
                  p99_ms=s["p99_us"] / 1000, mean_ms=round(s["mean_us"] / 1000, 3),
                  errors=s["connect"] + s["read"] + s["write"] + s["timeout"],
                  non_2xx=s["status"], bytes_per_request=round(s["bytes"] / n, 1) if n else 0.0)


def _wrk(base_url: str, paths: list[str], duration: float, connections: int,
         threads: int, headers: dict[str, str] | None = None) -> Result:
    threads = max(1, min(threads, connections))
    script = LUA % {"paths": ", ".join(_lua_string(p) for p in paths)}
    return _wrk_summary(_run_wrk(base_url, script, duration, connections, threads, headers))


# ---- Python fallback ------------------------------------------------------------------------

def _client_process(args) -> dict:
    host, port, paths, offset, n_threads, deadline, headers = args
    import threading

    latencies: list[float] = []
    counts = {"errors": 0, "non_2xx": 0, "bytes": 0}
    lock = threading.Lock()

    def client(k: int) -> None:
        mine: list[float] = []
        errors = non_2xx = nbytes = 0
        conn = http.client.HTTPConnection(host, port, timeout=10)
        i = (offset + k) * 7919 % len(paths)
        while time.time() < deadline:
            path = paths[i]
            i = (i + 1) % len(paths)
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
            nbytes += len(body)
            if response.status >= 400:
                non_2xx += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            counts["errors"] += errors
            counts["non_2xx"] += non_2xx
            counts["bytes"] += nbytes

    workers = [threading.Thread(target=client, args=(k,)) for k in range(n_threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return {"latencies": latencies, **counts}


def _python(base_url: str, paths: list[str], duration: float, connections: int,
            threads: int, headers: dict[str, str] | None = None) -> Result:
    parts = urlsplit(base_url)
    n_procs = max(1, min(os.cpu_count() or 1, connections, 4))
    per_proc = [connections // n_procs + (1 if i < connections % n_procs else 0)
                for i in range(n_procs)]
    started = time.time()
    deadline = started + duration
    jobs = [(parts.hostname, parts.port or 80, paths, i * 1000, n, deadline, headers or {})
            for i, n in enumerate(per_proc)]
    with multiprocessing.get_context("fork").Pool(n_procs) as pool:
        outputs = pool.map(_client_process, jobs)
    seconds = max(time.time() - started, 1e-9)
    latencies = sorted(x for out in outputs for x in out["latencies"])
    n = len(latencies)

    def pct(p: float) -> float:
        return round(latencies[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))] * 1000, 3) if n else 0.0

    return Result(tool="python", requests=n, seconds=round(seconds, 2), rps=round(n / seconds, 1),
                  p50_ms=pct(50), p90_ms=pct(90), p99_ms=pct(99),
                  mean_ms=round(sum(latencies) / n * 1000, 3) if n else 0.0,
                  errors=sum(o["errors"] for o in outputs),
                  non_2xx=sum(o["non_2xx"] for o in outputs),
                  bytes_per_request=round(sum(o["bytes"] for o in outputs) / n, 1) if n else 0.0)


# ---- votes ----------------------------------------------------------------------------------
#
# Each connection is one voter (its own bearer token) with its own list of posts it did not
# write. Request k of a voter sets its vote on posts[(k // 2) % len(posts)] to 1 when k is even
# and back to 0 when k is odd: every request is a real change (an insert or a delete of the vote
# row, a score move, a ledger row), never a no-op. k carries over from one run (warm-up, rounds)
# to the next, so a run that stopped between the up and the retract resumes with the retract.
# wrk calls request() per thread, not per connection, so the vote load runs one connection per
# wrk thread (-t C -c C): each thread's Lua state is one voter.

VOTE_LUA = """
local tokens = {TOKENS}
local posts = {POSTS}
local starts = {STARTS}
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  mine = posts[id]
  k = starts[id]
  statuses = {}
  first_bad = ""
  wrk.headers["Authorization"] = "Bearer " .. tokens[id]
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  local post = mine[(math.floor(k / 2) % #mine) + 1]
  local value = 1 - k % 2
  k = k + 1
  return wrk.format("PUT", "/api/v1/posts/" .. post .. "/vote", nil, '{"value": ' .. value .. '}')
end
function response(status, headers, body)
  if status ~= 200 then
    statuses[status] = (statuses[status] or 0) + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 300) end
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"mean_us":%.1f,"max_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
  for _, t in ipairs(threads) do
    local parts = {}
    for status, n in pairs(t:get("statuses")) do
      table.insert(parts, string.format('"%d":%d', status, n))
    end
    io.write(string.format('WRKVOTER {"id":%d,"k":%d,"statuses":{%s}}\\n',
                           t:get("id"), t:get("k"), table.concat(parts, ",")))
    local bad = t:get("first_bad")
    if bad ~= "" then io.write("WRKBAD ", (string.gsub(bad, "\\n", " ")), "\\n") end
  end
end
"""


@dataclass
class Voter:
    token: str
    posts: list[int]
    k: int = 0      # votes sent so far; the next one is request k of the scheme above


@dataclass
class VoteRun:
    result: Result
    statuses: dict[int, int]    # every status other than 200 → how many
    sample: str | None          # the first non-200 answer, status and start of the body


def measure_votes(base_url: str, voters: list[Voter], *, duration: float, warmup: float = 2.0,
                  tool: str | None = None,
                  before: Callable[[], None] | None = None) -> VoteRun:
    """Vote load from len(voters) connections: warm up, call `before`, run the timed load.

    Only the timed run's statuses are returned; the warm-up's are checked separately by the
    caller through the state it leaves (every voter's k)."""
    tool = tool or ("wrk" if have_wrk() else "python")
    run = _wrk_votes if tool == "wrk" else _python_votes
    if warmup > 0:
        run(base_url, voters, warmup)
    if before is not None:
        before()
    return run(base_url, voters, duration)


def _wrk_votes(base_url: str, voters: list[Voter], duration: float) -> VoteRun:
    n = len(voters)
    script = (VOTE_LUA
              .replace("{TOKENS}", "{" + ", ".join(_lua_string(v.token) for v in voters) + "}")
              .replace("{POSTS}", "{" + ", ".join("{" + ",".join(map(str, v.posts)) + "}"
                                                  for v in voters) + "}")
              .replace("{STARTS}", "{" + ", ".join(str(v.k) for v in voters) + "}"))
    out = _run_wrk(base_url, script, duration, n, n)
    statuses: dict[int, int] = {}
    sample = None
    for line in out.splitlines():
        if line.startswith("WRKVOTER "):
            state = json.loads(line[len("WRKVOTER "):])
            voters[state["id"] - 1].k = state["k"]
            for status, count in state["statuses"].items():
                statuses[int(status)] = statuses.get(int(status), 0) + count
        elif line.startswith("WRKBAD ") and sample is None:
            sample = line[len("WRKBAD "):][:300]
    result = _wrk_summary(out)
    # wrk counts only >= 400 as status errors; count every non-200 instead.
    result.non_2xx = sum(statuses.values())
    return VoteRun(result, dict(sorted(statuses.items())), sample)


def _vote_client(args) -> dict:
    host, port, token, posts, k, deadline = args
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors, sample = 0, None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(host, port, timeout=10)
    while time.time() < deadline:
        path = f"/api/v1/posts/{posts[(k // 2) % len(posts)]}/vote"
        body = json.dumps({"value": 1 - k % 2})
        k += 1
        started = time.perf_counter()
        try:
            conn.request("PUT", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            statuses[response.status] = statuses.get(response.status, 0) + 1
            sample = sample or f"{response.status} {data[:300].decode(errors='replace')}"
    conn.close()
    return {"latencies": latencies, "statuses": statuses, "errors": errors, "k": k,
            "sample": sample}


def _python_votes(base_url: str, voters: list[Voter], duration: float) -> VoteRun:
    from concurrent.futures import ThreadPoolExecutor

    parts = urlsplit(base_url)
    started = time.time()
    deadline = started + duration
    jobs = [(parts.hostname, parts.port or 80, v.token, v.posts, v.k, deadline) for v in voters]
    # Threads in one process: the fallback is weak anyway, and votes are server-bound.
    with ThreadPoolExecutor(len(jobs)) as pool:
        outputs = list(pool.map(_vote_client, jobs))
    seconds = max(time.time() - started, 1e-9)
    statuses: dict[int, int] = {}
    for voter, out in zip(voters, outputs):
        voter.k = out["k"]
        for status, count in out["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    latencies = sorted(x for out in outputs for x in out["latencies"])
    n = len(latencies)

    def pct(p: float) -> float:
        return round(latencies[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))] * 1000, 3) if n else 0.0

    result = Result(tool="python", requests=n, seconds=round(seconds, 2), rps=round(n / seconds, 1),
                    p50_ms=pct(50), p90_ms=pct(90), p99_ms=pct(99),
                    mean_ms=round(sum(latencies) / n * 1000, 3) if n else 0.0,
                    errors=sum(o["errors"] for o in outputs), non_2xx=sum(statuses.values()),
                    bytes_per_request=0.0)
    return VoteRun(result, dict(sorted(statuses.items())),
                   next((o["sample"] for o in outputs if o["sample"]), None))
