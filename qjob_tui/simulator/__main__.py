"""`python -m qjob_tui.simulator`: run the Qovery simulator on its own, until Ctrl-C.

Point anything that speaks Qovery's API at it: `QOVERY_API_URL=<its URL> QOVERY_API_KEY=qov-demo-token`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from qjob_tui.argtypes import port_argument
from qjob_tui.simulator.app import Simulator
from qjob_tui.simulator.serve import serve_simulator


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be zero or more seconds")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m qjob_tui.simulator",
        description="Run qjob-tui's Qovery API simulator with the demo jobs, until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=port_argument, default=0, help="port to listen on (default: 0, a free port)"
    )
    parser.add_argument(
        "--phase-s", type=_seconds, default=2.0, help="seconds each phase of an action lasts (default: 2)"
    )
    parser.add_argument(
        "--latency-s", type=_seconds, default=0.0, help="seconds every answer waits (default: 0)"
    )
    return parser


def _describe(sim: Simulator, url: str) -> str:
    lines = [
        f"qjob-tui Qovery simulator listening on {url}",
        f"token: {sim.token}  (Authorization: Token {sim.token})",
        f"try: QOVERY_API_URL={url} QOVERY_API_KEY={sim.token} qjob-tui",
        "jobs:",
    ]
    for job in sim.jobs.values():
        lines.append(f"  {job.id}  {job.name:<18} {job.spec.job_type:<9} {job.state}")
    lines.append("Ctrl-C stops it.")
    return "\n".join(lines)


async def _serve(args: argparse.Namespace) -> None:
    sim = Simulator(phase_s=args.phase_s, latency_s=args.latency_s)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not available on every platform (Windows): Ctrl-C then arrives as KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with serve_simulator(sim, args.host, args.port) as url:
        print(_describe(sim, url), file=sys.stderr, flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, serve until SIGINT or SIGTERM; 0 then, 2 for bad arguments or an unusable address."""
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(
            f"python -m qjob_tui.simulator: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
