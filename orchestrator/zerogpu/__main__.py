"""``python -m orchestrator.zerogpu run``: a device API and one ZeroGPU Space's app, without a control plane.

    python -m orchestrator.zerogpu run --pool pool.yaml --space local/zerogpu-hello \\
        [--team research] [--concurrency 2] [--settings zerogpu.yaml] [--data-dir DIR] \\
        -- python app.py

Starts the device API on 127.0.0.1 (a free port), starts the command with the Space's environment
(``SYSTEM=spaces``, ``SPACE_ID``, ``SPACES_ZERO_GPU=true``, its device API URL), lets its processes
attach to leases, and ends with the command's exit status. Finished calls go to
``<data dir>/zerogpu/ledger.jsonl``; ``usage`` prints their totals. Used by the GPU check script.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import uvloop

from orchestrator.errors import InvalidInputError
from orchestrator.zerogpu.environment import app_environment
from orchestrator.zerogpu.leases import ZeroSpace
from orchestrator.zerogpu.ledger import read_ledger, summarize
from orchestrator.zerogpu.pool import load_pool
from orchestrator.zerogpu.registry import device_api_url
from orchestrator.zerogpu.service import build_device_api, ledger_path, listening_socket, uvicorn_server
from orchestrator.zerogpu.settings import ZeroGPUSettings, load_settings
from orchestrator.zerogpu.workers import LocalProcessWorkers


async def _run(args: argparse.Namespace) -> int:
    settings = load_settings(args.settings) if args.settings else ZeroGPUSettings()
    pool = load_pool(args.pool)
    workers = LocalProcessWorkers()
    api = build_device_api(args.data_dir, pool, settings, workers)
    sock = listening_socket("127.0.0.1", args.port)
    server = uvicorn_server(api)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            return 1
        await asyncio.sleep(0.01)
    space = ZeroSpace(args.space, args.team, args.concurrency or settings.space_concurrency)
    url = device_api_url(f"http://127.0.0.1:{sock.getsockname()[1]}", api.register_space(space))
    env = {**os.environ, **app_environment(args.space, url, pool.devices())}
    print(f"ZeroGPU device API for {args.space} on 127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr)
    app = await asyncio.create_subprocess_exec(*args.command, env=env)
    workers.bind(args.space, app.pid)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, app.send_signal, signum)
    try:
        status = await app.wait()
    finally:
        if app.returncode is None:
            app.kill()
            await app.wait()
        api.space_stopped(args.space)
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving
    return status


def _usage(args: argparse.Namespace) -> int:
    since = time.time() - args.since_hours * 3600
    records = list(read_ledger(ledger_path(args.data_dir)))
    for total in summarize(records, args.by, since=since):
        line = f"{total.key:40} {total.calls:6d} calls {total.gpu_s:10.1f} GPU-s"
        print(f"{line} {total.quota_s:10.1f} quota-s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.zerogpu")
    commands = parser.add_subparsers(dest="command_name", required=True)
    run = commands.add_parser("run", help="run one ZeroGPU Space's app with a device API")
    run.add_argument("--pool", type=Path, required=True, help="the devices lent out (YAML or JSON)")
    run.add_argument("--space", required=True, help="the Space id, owner/name")
    run.add_argument("--team", default=None, help="the team whose GPU time the calls count against")
    run.add_argument("--concurrency", type=int, default=None, help="calls the Space may run at once")
    run.add_argument("--settings", type=Path, default=None, help="quota tiers and time limits (YAML)")
    run.add_argument("--data-dir", type=Path, default=Path(".spaces-zerogpu"), help="key and ledger")
    run.add_argument("--port", type=int, default=0)
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- the app's command")
    usage = commands.add_parser("usage", help="GPU time per visitor, Space or team, from the ledger")
    usage.add_argument("--data-dir", type=Path, default=Path(".spaces-zerogpu"))
    usage.add_argument("--by", choices=["visitor", "space", "team"], default="space")
    usage.add_argument("--since-hours", type=float, default=24.0)
    args = parser.parse_args(argv)
    try:
        if args.command_name == "usage":
            return _usage(args)
        if args.command[:1] == ["--"]:
            args.command = args.command[1:]
        if not args.command:
            parser.error("run: give the app's command after --")
        return uvloop.run(_run(args))
    except InvalidInputError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
