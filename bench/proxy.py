"""Requests per second and latency: direct to an app, through nginx, and through our front door.

One run, side by side, same load generator (``wrk`` from Debian), same connections and duration:

* upstream: nginx (Debian's ``nginx-light``) answering a static ``200 hello`` from memory, one worker;
* nginx as a reverse proxy in front of it (one worker, keep-alive upstream pool, ``X-Forwarded-*``);
* our front door (``orchestrator.proxy.frontdoor``, uvloop) in front of it, one process, with a real
  ``Gate`` over a ``RouteTable`` holding one route (no database).

CPU placement (``taskset``) on a machine with two or more cores: the proxy under test alone on the last
core; wrk and the upstream on the first one. Each target is first warmed up, then measured.
The last line is one JSON object: ``{"ours_rps", "nginx_rps", "direct_rps", "ratio", "ours_p50_ms",
"direct_p50_ms", "ours_p99_ms", ...}``. ``scripts/install.sh`` installs nginx-light and wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "app.bench.test"
DOMAIN = "bench.test"

_UPSTREAM_CONF = """
worker_processes 1;
daemon off;
pid {dir}/upstream.pid;
error_log {dir}/upstream-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{ default_type text/plain; return 200 "hello\\n"; }}
  }}
}}
"""

_PROXY_CONF = """
worker_processes 1;
daemon off;
pid {dir}/proxy.pid;
error_log {dir}/proxy-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  keepalive_requests 1000000;
  upstream app {{ server 127.0.0.1:{upstream}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
"""


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float = 0.0
    """CPU time (user + system) the proxy under test spent per request; 0 for the direct runs."""


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of ``pids`` so far."""
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def wait_listening(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def pinned(cpu: int | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *command] if cpu is not None and shutil.which("taskset") else command


def _ms(value: str) -> float:
    """wrk's latency (``812.00us``, ``1.20ms``, ``2.01s``, ``1.10m``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if match is None:
        raise ValueError(f"unexpected latency from wrk: {value!r}")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[match.group(2)]


def run_wrk(
    name: str,
    port: int,
    args: argparse.Namespace,
    cpu: int | None,
    seconds: float,
    connections: int,
    measured: list[int],
) -> Result:
    """One wrk run against ``port``; ``measured``: the processes whose CPU time is counted."""
    command = pinned(
        cpu,
        [
            "wrk",
            f"-t{min(args.threads, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-H",
            f"Host: {HOST}",
            f"http://127.0.0.1:{port}/",
        ],
    )
    cpu_before = cpu_seconds(measured)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu_used = cpu_seconds(measured) - cpu_before
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    errors = sum(
        int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|timeout|read|write|connect) (\d+)", output)
    )
    return Result(name, rps, p50, p99, errors, cpu_used / max(requests, 1) * 1e6)


def start_nginx(conf: str, directory: Path, name: str, cpu: int | None) -> subprocess.Popen[bytes]:
    path = directory / f"{name}.conf"
    path.write_text(conf)
    process = subprocess.Popen(pinned(cpu, ["nginx", "-p", str(directory), "-c", str(path)]))
    return process


def serve_front_door(port: int, upstream_port: int) -> None:
    """The front door with one route to the upstream; runs until killed (``--serve-front-door``)."""
    import uvloop

    from orchestrator.proxy.frontdoor import FrontDoor
    from orchestrator.proxy.gate import Gate
    from orchestrator.proxy.routes import Route, RouteTable

    async def describe(subdomain: str) -> None:
        return None

    async def main() -> None:
        routes = RouteTable()
        routes.set("app", Route("bench-1", "127.0.0.1", upstream_port, space="bench/app"))
        door = FrontDoor(Gate(routes, describe), DOMAIN, api_address=None)
        await door.start("127.0.0.1", port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
            await stop.wait()
            profile.disable()
            profile.dump_stats(os.environ["BENCH_PROFILE"])
        else:
            await stop.wait()
        await door.close()

    uvloop.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per target and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single-duration", type=float, default=2.0, help="seconds of the 1-connection runs")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument(
        "--serve-front-door", nargs=2, type=int, metavar=("PORT", "UPSTREAM"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve_front_door:
        serve_front_door(*args.serve_front_door)
        return
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (scripts/install.sh installs nginx-light and wrk)")

    from orchestrator.proxy import compiled

    print(
        "front door: "
        + ("compiled modules (mypyc)" if compiled.current() else "interpreted (no current mypyc build)"),
        file=sys.stderr,
    )
    cores = os.cpu_count() or 1
    load_cpu, proxy_cpu = (0, cores - 1) if cores >= 2 else (None, None)
    print(
        f"{cores} cores; wrk ({args.threads} thread, {args.connections} connections) and the upstream on "
        f"cpu {load_cpu}, the proxy under test on cpu {proxy_cpu}; {args.duration:g} s each",
        file=sys.stderr,
    )
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        directory = Path(tmp)
        upstream, nginx, ours = free_port(), free_port(), free_port()
        try:
            processes.append(
                start_nginx(_UPSTREAM_CONF.format(dir=tmp, port=upstream), directory, "upstream", load_cpu)
            )
            processes.append(
                start_nginx(
                    _PROXY_CONF.format(dir=tmp, port=nginx, upstream=upstream), directory, "proxy", proxy_cpu
                )
            )
            processes.append(
                subprocess.Popen(
                    pinned(
                        proxy_cpu,
                        [sys.executable, "-m", "bench.proxy", "--serve-front-door", str(ours), str(upstream)],
                    ),
                    cwd=Path(__file__).resolve().parent.parent,
                )
            )
            for port in (upstream, nginx, ours):
                wait_listening(port)
            targets: tuple[tuple[str, int, list[int]], ...] = (
                ("direct", upstream, []),
                ("nginx", nginx, children(processes[1].pid)),
                ("ours", ours, [processes[2].pid]),
            )
            for name, port, measured in targets:
                run_wrk(name, port, args, load_cpu, args.warmup, args.connections, measured)
            # Rounds interleave the targets so that a burst of load from elsewhere hits all three alike.
            rounds: dict[str, list[Result]] = {name: [] for name, _, _ in targets}
            single: dict[str, list[Result]] = {name: [] for name, _, _ in targets}
            for _ in range(args.rounds):
                for name, port, measured in targets:
                    rounds[name].append(
                        run_wrk(name, port, args, load_cpu, args.duration, args.connections, measured)
                    )
                    single[name].append(
                        run_wrk(name, port, args, load_cpu, args.single_duration, 1, measured)
                    )
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
    loaded = {name: median(results) for name, results in rounds.items()}
    alone = {name: median(results) for name, results in single.items()}
    print(f"{args.connections} connections, median of {args.rounds} rounds of {args.duration:g} s:")
    print(f"{'target':<8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'proxy CPU us/req':>17}")
    for result in loaded.values():
        print(
            f"{result.name:<8} {result.rps:>10.0f} {result.p50_ms:>8.3f} {result.p99_ms:>8.3f}"
            f" {result.errors:>7} {result.cpu_us:>17.1f}"
        )
    print(
        f"1 connection (latency without queueing), median of {args.rounds} rounds"
        f" of {args.single_duration:g} s:"
    )
    for result in alone.values():
        print(f"{result.name:<8} {result.rps:>10.0f} {result.p50_ms:>8.3f} {result.p99_ms:>8.3f}")
    ours_r, nginx_r, direct_r = loaded["ours"], loaded["nginx"], loaded["direct"]
    print(
        f"ours / nginx: {ours_r.rps / nginx_r.rps:.3f} of the requests per second"
        f" ({nginx_r.cpu_us / ours_r.cpu_us:.3f} by CPU time per request);"
        f" p50 added over direct: ours {ours_r.p50_ms - direct_r.p50_ms:+.3f} ms under load,"
        f" {alone['ours'].p50_ms - alone['direct'].p50_ms:+.3f} ms alone;"
        f" nginx {nginx_r.p50_ms - direct_r.p50_ms:+.3f} ms,"
        f" {alone['nginx'].p50_ms - alone['direct'].p50_ms:+.3f} ms"
    )
    print(
        json.dumps(
            {
                "ours_rps": round(ours_r.rps),
                "nginx_rps": round(nginx_r.rps),
                "direct_rps": round(direct_r.rps),
                "ratio": round(ours_r.rps / nginx_r.rps, 3),
                "ours_p50_ms": ours_r.p50_ms,
                "direct_p50_ms": direct_r.p50_ms,
                "ours_p99_ms": ours_r.p99_ms,
                "nginx_p50_ms": nginx_r.p50_ms,
                "nginx_p99_ms": nginx_r.p99_ms,
                "ours_cpu_us_per_request": round(ours_r.cpu_us, 1),
                "nginx_cpu_us_per_request": round(nginx_r.cpu_us, 1),
                "ours_p50_ms_1conn": alone["ours"].p50_ms,
                "nginx_p50_ms_1conn": alone["nginx"].p50_ms,
                "direct_p50_ms_1conn": alone["direct"].p50_ms,
                "compiled": compiled.current(),
                "connections": args.connections,
                "duration_s": args.duration,
                "rounds": args.rounds,
            }
        )
    )


def median(results: list[Result]) -> Result:
    """The round with the median requests per second."""
    return sorted(results, key=lambda result: result.rps)[len(results) // 2]


if __name__ == "__main__":
    main()
