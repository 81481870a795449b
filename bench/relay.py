"""What the relay costs: deploys straight to a minimal upstream, through qjob-tui's REST face, through its
MCP face, and through the peer a user would reach for instead (FastMCP's OpenAPI bridge), in one run.

    .venv/bin/python bench/relay.py                 # about a minute and a half
    .venv/bin/python bench/relay.py --rounds 3 --calls 100 --duration 1   # quicker, noisier
    .venv/bin/python bench/relay.py --profile rest  # py-spy flame graph of the relay under REST load
    .venv/bin/python bench/relay.py --stacks        # REST through the relay on each HTTP stack, side by side

Method. Every server runs in a process of its own: the upstream (the embedded simulator with phase_s=0,
latency_s=0, nothing recorded), qjob-tui's REST and MCP servers (`RelayServers` over `open_runtime`, the
audit log in a temporary file), and the FastMCP bridge (when `fastmcp` is installed: the `bench` extra).
In interleaved rounds, so that drift of the machine hits every target alike:

- latency: `--calls` deploys one at a time per target from this process; direct and REST with one
  keep-alive `httpx2.AsyncClient` (the HTTP stack the MCP client is built on), MCP with the official
  client `mcp.Client(url)`; p50 and p99 over every round;
- throughput: `--concurrency` deploys in flight for `--duration` seconds per target, from a separate
  load process (bench/load.py) so that the client's CPU is not the relay's; direct and REST with a raw
  keep-alive HTTP/1.1 client that costs about 100 us per call, MCP with `mcp.Client`;
- server CPU per call: the CPU time the server processes (upstream, plus relay or bridge) spent during
  the throughput runs, divided by the calls (Linux /proc): the cost that does not depend on how busy the
  machine was;
- the "raw" rows replay the official client's tools/call request (2026-07-28, stateless) with the lean
  client: the servers' cost without the SDK client's.

`--stacks` starts one relay per HTTP stack instead (the Qovery client's transport: httpx's own, httpx over
httpx-aiohttp, or the relay's own; the servers' HTTP parser: h11 or httptools; the event loop: asyncio or
uvloop; bench/roles.py builds them) and measures REST through each beside direct calls, the same way.

The targets are ratios measured side by side, not absolute times. On a machine with few cores the
servers and the load process share them: read the figures as relative.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from roles import CLIENTS, HTTP_PARSERS, LOOPS  # noqa: E402

from qjob_tui.simulator import DEMO_TOKEN, demo_dataset  # noqa: E402

# The stacks --stacks compares by default: httpx's own transport, httpx over aiohttp, with uvicorn's standard
# extras one by one, and the relay as it is.
DEFAULT_STACKS = [
    "httpx/h11/asyncio",
    "httpx-aiohttp/h11/asyncio",
    "httpx-aiohttp/httptools/asyncio",
    "httpx-aiohttp/httptools/uvloop",
    "qjob-tui/-/asyncio",
    "qjob-tui/-/uvloop",
]

START_TIMEOUT_S = 60.0
# A tools/call as the official client sends it in the 2026-07-28 protocol (stateless: it can be replayed),
# for the rows that leave the client's own cost out.
MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": "tools/call",
    "Mcp-Name": "deploy-job",
}
_MCP_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def mcp_call_body(job: str) -> str:
    params = {"name": "deploy-job", "arguments": {"jobId": job}, "_meta": _MCP_META}
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})


@dataclass
class Target:
    """One way of deploying a job, and what was measured for it."""

    name: str
    label: str
    call: Callable[[str], Awaitable[None]]
    load: dict[str, Any]  # the bench/load.py command that drives it at `--concurrency`
    processes: dict[str, Process]  # role -> a server process whose CPU its calls cost
    latencies_s: list[float] = field(default_factory=list)
    throughputs: list[float] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)  # role -> CPU time spent during its throughput runs
    throughput_calls: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        data = sorted(self.latencies_s)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, round(q * (len(data) - 1)))]

    @property
    def p50_ms(self) -> float:
        return self.percentile(0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return self.percentile(0.99) * 1000

    def cpu_us_per_call(self, *roles: str) -> float:
        """CPU per call under load of the given server roles (all of them when none is named)."""
        spent = sum(cpu for role, cpu in self.cpu_s.items() if not roles or role in roles)
        return spent / self.throughput_calls * 1e6 if self.throughput_calls else float("nan")

    @property
    def per_second(self) -> float:
        return statistics.median(self.throughputs) if self.throughputs else float("nan")


class Process:
    """A child process of the benchmark that prints `READY <urls>` once it serves."""

    def __init__(self, *args: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=BENCH_DIR,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(BENCH_DIR.parent)])},
        )

    async def ready(self) -> list[str]:
        assert self.popen.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.popen.stdout.readline), START_TIMEOUT_S)
        if not line.startswith("READY"):
            raise RuntimeError(f"{self.popen.args[1:3]} did not start (exit {self.popen.poll()})")
        return line.split()[1:]

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        """One command to a bench/load.py worker, one JSON answer."""
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.popen.stdin.write(json.dumps(command) + "\n")
        self.popen.stdin.flush()
        answer: dict[str, Any] = json.loads(self.popen.stdout.readline())
        return answer

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            assert self.popen.stdin is not None
            self.popen.stdin.close()  # the roles stop when stdin closes
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


@contextlib.asynccontextmanager
async def started(*args: str) -> AsyncIterator[tuple[Process, list[str]]]:
    process = Process(*args)
    try:
        yield process, await process.ready()
    finally:
        process.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peer_available() -> bool:
    return importlib.util.find_spec("fastmcp") is not None


def relay_arguments(upstream: str, audit: Path, jobs: list[str], stack: str | None = None) -> list[str]:
    """bench/roles.py's arguments for a relay in front of `upstream`; `stack` is CLIENT/HTTP/LOOP (STACKS)."""
    arguments = ["roles.py", "relay", "--upstream", upstream, "--token", DEMO_TOKEN, "--audit", str(audit)]
    for job in jobs:
        arguments += ["--job", job]
    if stack is not None:
        client, http, loop = stack.split("/")
        arguments += ["--client", client, "--loop", loop] + ([] if http == "-" else ["--http", http])
    return arguments


def http_load(requests: list[list[Any]]) -> dict[str, Any]:
    return {"kind": "http", "requests": requests}


def mcp_load(url: str, jobs: list[str]) -> dict[str, Any]:
    return {"kind": "mcp", "url": url, "calls": [["deploy-job", {"jobId": j}] for j in jobs]}


class Callers:
    """The clients this process measures latency with: one keep-alive HTTP client, and MCP clients."""

    def __init__(self, stack: contextlib.AsyncExitStack) -> None:
        self._stack = stack
        self.http: Any = None

    async def open(self) -> None:
        import httpx2

        self.http = await self._stack.enter_async_context(httpx2.AsyncClient(timeout=30))

    def post(self, url: str, headers: dict[str, str] | None = None) -> Awaitable[None]:
        async def call() -> None:
            response = await self.http.post(url, headers=headers)
            if response.status_code != 202:
                raise RuntimeError(f"POST {url} answered {response.status_code}: {response.text[:200]}")

        return call()

    def raw_tool(self, url: str, job: str) -> Awaitable[None]:
        async def call() -> None:
            response = await self.http.post(url, content=mcp_call_body(job), headers=MCP_HEADERS)
            if response.status_code != 200 or response.json()["result"].get("isError"):
                raise RuntimeError(
                    f"POST {url} tools/call answered {response.status_code}: {response.text[:200]}"
                )

        return call()

    async def mcp(self, url: str) -> Callable[[str], Awaitable[None]]:
        from mcp import Client

        client = await self._stack.enter_async_context(Client(url))

        async def tool(job: str) -> None:
            result = await client.call_tool("deploy-job", {"jobId": job})
            if result.is_error:
                raise RuntimeError(f"deploy-job answered an error: {result.content[0].text[:200]}")

        return tool


async def run_rounds(targets: list[Target], load: Process, jobs: list[str], args: argparse.Namespace) -> None:
    """Warm every target, then in interleaved rounds: `--calls` one at a time each, then the throughput runs."""
    for target in targets:  # connections, imports, caches
        for i in range(50):
            await target.call(jobs[i % len(jobs)])
    for round_index in range(args.rounds):
        order = targets[round_index % len(targets) :] + targets[: round_index % len(targets)]
        for target in order:
            for i in range(args.calls):
                started_at = time.perf_counter()
                await target.call(jobs[i % len(jobs)])
                target.latencies_s.append(time.perf_counter() - started_at)
        for target in order:
            command = {**target.load, "concurrency": args.concurrency, "duration_s": args.duration}
            before = {role: cpu_seconds(p.popen.pid) for role, p in target.processes.items()}
            result = await asyncio.to_thread(load.ask, command)
            for role, process in target.processes.items():
                spent = cpu_seconds(process.popen.pid) - before[role]
                target.cpu_s[role] = target.cpu_s.get(role, 0.0) + spent
            target.throughput_calls += result["total_calls"]
            target.throughputs.append(result["calls"] / result["elapsed_s"])
            for outcome, count in result["outcomes"].items():
                if outcome not in ("202", "200", "ok"):
                    target.failures[outcome] = target.failures.get(outcome, 0) + count
        print(f"  round {round_index + 1}/{args.rounds} done", file=sys.stderr, flush=True)


async def measure(args: argparse.Namespace) -> list[Target]:
    """Direct, REST, MCP (and the FastMCP bridge) side by side, the relay on its own stack."""
    jobs = [job.id for job in demo_dataset().jobs]
    auth = {"Authorization": f"Token {DEMO_TOKEN}"}
    with_peer = peer_available() and not args.no_peer
    async with contextlib.AsyncExitStack() as stack:
        upstream_process, (upstream,) = await stack.enter_async_context(started("roles.py", "upstream"))
        audit = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "audit.jsonl"
        relay_process, (rest, mcp_url) = await stack.enter_async_context(
            started(*relay_arguments(upstream, audit, jobs))
        )
        peer_url, peer_process = None, None
        if with_peer:
            peer_process, (peer_url,) = await stack.enter_async_context(
                started("roles.py", "peer", "--upstream", upstream, "--token", DEMO_TOKEN)
            )
        load, _ = await stack.enter_async_context(started("load.py"))
        callers = Callers(stack)
        await callers.open()
        relayed = {"upstream": upstream_process, "relay": relay_process}
        targets = [
            Target(
                "direct",
                "direct to upstream",
                lambda j: callers.post(f"{upstream}/job/{j}/deploy", auth),
                http_load([["POST", f"{upstream}/job/{j}/deploy", auth, ""] for j in jobs]),
                {"upstream": upstream_process},
            ),
            Target(
                "rest",
                "qjob-tui REST",
                lambda j: callers.post(f"{rest}/v1/job/{j}/deploy"),
                http_load([["POST", f"{rest}/v1/job/{j}/deploy", {}, ""] for j in jobs]),
                relayed,
            ),
            Target("mcp", "qjob-tui MCP", await callers.mcp(mcp_url), mcp_load(mcp_url, jobs), relayed),
        ]
        if peer_url is not None and peer_process is not None:
            bridged = {"upstream": upstream_process, "peer": peer_process}
            targets.append(
                Target(
                    "peer", "FastMCP bridge", await callers.mcp(peer_url), mcp_load(peer_url, jobs), bridged
                )
            )
        # The same tools/call bytes without the SDK's client: what the servers alone cost.
        targets.append(
            Target(
                "mcp-raw",
                "qjob-tui MCP, raw POST",
                lambda j: callers.raw_tool(mcp_url, j),
                http_load([["POST", mcp_url, MCP_HEADERS, mcp_call_body(j)] for j in jobs]),
                relayed,
            )
        )
        if peer_url is not None and peer_process is not None:
            targets.append(
                Target(
                    "peer-raw",
                    "FastMCP bridge, raw",
                    lambda j: callers.raw_tool(str(peer_url), j),
                    http_load([["POST", str(peer_url), MCP_HEADERS, mcp_call_body(j)] for j in jobs]),
                    {"upstream": upstream_process, "peer": peer_process},
                )
            )
        await run_rounds(targets, load, jobs, args)
        audit_lines = sum(1 for _ in audit.open()) if audit.exists() else 0
        print(f"  audit log: {audit_lines} lines written by the relay", file=sys.stderr)
    return targets


async def measure_stacks(args: argparse.Namespace) -> list[Target]:
    """REST through one relay per HTTP stack (`--stacks`), side by side with direct calls."""
    jobs = [job.id for job in demo_dataset().jobs]
    auth = {"Authorization": f"Token {DEMO_TOKEN}"}
    async with contextlib.AsyncExitStack() as stack:
        upstream_process, (upstream,) = await stack.enter_async_context(started("roles.py", "upstream"))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        load, _ = await stack.enter_async_context(started("load.py"))
        callers = Callers(stack)
        await callers.open()
        targets = [
            Target(
                "direct",
                "direct to upstream",
                lambda j: callers.post(f"{upstream}/job/{j}/deploy", auth),
                http_load([["POST", f"{upstream}/job/{j}/deploy", auth, ""] for j in jobs]),
                {"upstream": upstream_process},
            )
        ]
        for index, name in enumerate(args.stacks):
            relay, (rest, _) = await stack.enter_async_context(
                started(*relay_arguments(upstream, folder / f"audit-{index}.jsonl", jobs, name))
            )
            targets.append(
                Target(
                    name,
                    name,
                    functools.partial(lambda url, j: callers.post(f"{url}/v1/job/{j}/deploy"), rest),
                    http_load([["POST", f"{rest}/v1/job/{j}/deploy", {}, ""] for j in jobs]),
                    {"upstream": upstream_process, "relay": relay},
                )
            )
        await run_rounds(targets, load, jobs, args)
    return targets


def report_stacks(targets: list[Target], args: argparse.Namespace) -> str:
    direct, relayed = targets[0], targets[1:]
    lines = [
        f"REST through the relay on each stack: {args.rounds} rounds x {args.calls} calls one at a time, "
        f"{args.concurrency} concurrent for {args.duration:g} s per round; {os.cpu_count()} CPUs",
        f"direct to upstream: p50 {direct.p50_ms:.2f} ms, {direct.per_second:.0f} calls/s @{args.concurrency}, "
        f"upstream CPU {direct.cpu_us_per_call():.0f} us/call",
        "",
        f"{'client transport / server parser / loop':<40} {'p50 ms':>7} {'adds ms':>8} {'p99 ms':>7} "
        f"{'calls/s':>8} {'keeps':>6} {'relay CPU us/call':>18}  failures",
    ]
    for t in relayed:
        failures = ", ".join(f"{k}: {v}" for k, v in t.failures.items()) or "none"
        lines.append(
            f"{t.label:<40} {t.p50_ms:>7.2f} {t.p50_ms - direct.p50_ms:>8.2f} {t.p99_ms:>7.2f} "
            f"{t.per_second:>8.0f} {t.per_second / direct.per_second:>6.2f} {t.cpu_us_per_call('relay'):>18.0f}  "
            f"{failures}"
        )
    lines.append(
        "(adds: p50 over direct; keeps: throughput as a share of direct's; '-' parser: the relay's own)"
    )
    return "\n".join(lines)


def start_py_spy(pid: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    beside = Path(sys.executable).with_name("py-spy")
    spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy (a tool, not a dependency)")
    command = [spy, "record", "--pid", str(pid), "--output", str(args.profile_out)]
    command += ["--format", args.profile_format, "--duration", str(int(args.duration + 1)), "--rate", "250"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


async def profile(args: argparse.Namespace) -> None:
    """Record the relay process with py-spy while the load process drives one face for --duration seconds."""
    jobs = [job.id for job in demo_dataset().jobs]
    async with contextlib.AsyncExitStack() as stack:
        _, (upstream,) = await stack.enter_async_context(started("roles.py", "upstream"))
        audit = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "audit.jsonl"
        relay, (rest, mcp_url) = await stack.enter_async_context(
            started(*relay_arguments(upstream, audit, jobs))
        )
        load, _ = await stack.enter_async_context(started("load.py"))
        if args.profile == "rest":
            command: dict[str, Any] = {
                "kind": "http",
                "requests": [["POST", f"{rest}/v1/job/{j}/deploy", {}, ""] for j in jobs],
            }
        else:
            command = {"kind": "mcp", "url": mcp_url, "calls": [["deploy-job", {"jobId": j}] for j in jobs]}
        command.update(concurrency=args.concurrency, duration_s=args.duration, warmup_s=1.0)
        spy = start_py_spy(relay.popen.pid, args)
        result = await asyncio.to_thread(load.ask, command)
        await asyncio.to_thread(spy.wait)
        print(
            f"{args.profile}: {result['calls'] / result['elapsed_s']:.0f} calls/s, {result['outcomes']}; "
            f"profile in {args.profile_out}"
        )


def report(targets: list[Target], args: argparse.Namespace) -> tuple[str, bool]:
    by = {t.name: t for t in targets}
    direct, rest, mcp = by["direct"], by["rest"], by["mcp"]
    lines = [
        f"qjob-tui relay benchmark: {args.rounds} rounds x {args.calls} calls one at a time, "
        f"{args.concurrency} concurrent for {args.duration:g} s per round; {os.cpu_count()} CPUs",
        "",
        f"{'target':<24} {'p50 ms':>8} {'p99 ms':>8} {'calls/s @' + str(args.concurrency):>13} "
        f"{'server CPU us/call':>19}  failures",
    ]
    for t in targets:
        failures = ", ".join(f"{k}: {v}" for k, v in t.failures.items()) or "none"
        lines.append(
            f"{t.label:<24} {t.p50_ms:>8.2f} {t.p99_ms:>8.2f} {t.per_second:>13.0f} "
            f"{t.cpu_us_per_call():>19.0f}  {failures}"
        )
    lines.append(
        "(server CPU: the upstream's, plus the relay's or the bridge's, per call under load; "
        f"the relay itself costs {rest.cpu_us_per_call('relay'):.0f} us per REST call "
        f"and {mcp.cpu_us_per_call('relay'):.0f} us per MCP call)"
    )
    lines.append("")
    checks: list[tuple[str, float, str, float, bool]] = []
    added = rest.p50_ms - direct.p50_ms
    checks.append(("REST adds to a direct call at p50", added, "ms, target <=", 0.5, added <= 0.5))
    kept = rest.per_second / direct.per_second
    checks.append(("REST keeps of direct throughput", kept, "x, target >=", 0.75, kept >= 0.75))
    ratio = mcp.p50_ms / rest.p50_ms
    checks.append(("MCP call / REST call at p50", ratio, "x, target <=", 1.3, ratio <= 1.3))
    if "peer" in by:
        versus = mcp.p50_ms / by["peer"].p50_ms
        checks.append(("our MCP / FastMCP bridge at p50", versus, "x, target <=", 0.6, versus <= 0.6))
        lines.append(
            f"(throughput MCP / FastMCP bridge: {mcp.per_second / by['peer'].per_second:.2f}x; "
            f"MCP / REST: {mcp.per_second / rest.per_second:.2f}x)"
        )
    else:
        lines.append("(FastMCP bridge skipped: pip install -e '.[bench]' to compare with it)")
    if "mcp-raw" in by:
        raw = by["mcp-raw"]
        text = f"(without the SDK's client, raw tools/call POSTs: MCP / REST at p50 {raw.p50_ms / rest.p50_ms:.2f}x"
        if "peer-raw" in by:
            text += f", our MCP / FastMCP bridge at p50 {raw.p50_ms / by['peer-raw'].p50_ms:.2f}x"
        lines.append(text + ")")
    lines.append("")
    all_met = True
    for name, value, unit, bound, met in checks:
        all_met &= met
        lines.append(f"{name:<36} {value:>6.2f} {unit} {bound:<5g} {'met' if met else 'NOT MET'}")
    return "\n".join(lines), all_met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/relay.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--calls", type=int, default=200, help="one-at-a-time calls per target per round")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight for throughput")
    parser.add_argument(
        "--duration", type=float, default=2.0, help="seconds of throughput per target per round"
    )
    parser.add_argument("--no-peer", action="store_true", help="leave the FastMCP bridge out")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    parser.add_argument(
        "--stacks",
        nargs="*",
        metavar="CLIENT/PARSER/LOOP",
        help="instead: REST through one relay per HTTP stack, side by side; CLIENT one of "
        f"{', '.join(CLIENTS)}; PARSER one of {', '.join(HTTP_PARSERS)} or - (the relay's own); LOOP one of "
        f"{', '.join(LOOPS)} (default: {' '.join(DEFAULT_STACKS)})",
    )
    parser.add_argument("--profile", choices=["rest", "mcp"], help="instead: profile the relay with py-spy")
    parser.add_argument("--profile-out", type=Path, default=Path("relay-profile.svg"))
    parser.add_argument(
        "--profile-format", default="flamegraph", help="py-spy format: flamegraph, raw, speedscope"
    )
    args = parser.parse_args(argv)
    if args.profile:
        asyncio.run(profile(args))
        return 0
    if args.stacks is not None:
        args.stacks = args.stacks or DEFAULT_STACKS
        for name in args.stacks:
            client, _, rest = name.partition("/")
            http, _, loop = rest.partition("/")
            if client not in CLIENTS or http not in (*HTTP_PARSERS, "-") or loop not in LOOPS:
                parser.error(f"--stacks: {name!r} is not CLIENT/PARSER/LOOP (see --help)")
        print(report_stacks(asyncio.run(measure_stacks(args)), args))
        return 0
    targets = asyncio.run(measure(args))
    text, all_met = report(targets, args)
    print(text)
    if args.json:
        figures = {
            t.name: {
                "p50_ms": t.p50_ms,
                "p99_ms": t.p99_ms,
                "per_second": t.per_second,
                "server_cpu_us_per_call": t.cpu_us_per_call(),
                "failures": t.failures,
            }
            for t in targets
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
