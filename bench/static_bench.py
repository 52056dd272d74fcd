"""Static site benchmark: the folder ``specialfund publish-static DIR`` writes, served by a
plain static file server, its pages asked for by concurrent clients.

    specialfund publish-static /tmp/site
    python -m bench.static_bench /tmp/site --server nginx --client wrk   # 8 clients, 5 x 5 s
    python -m bench.static_bench /tmp/site                      # both sides in Python
    python -m bench.static_bench /tmp/site --server http.server --clients 8

Servers (each in its own process on loopback):

- ``nginx``: the system's nginx (Debian's package), started as ``nginx -c CONF -g 'daemon
  off;'`` with a minimal configuration written to a temporary folder: ``--nginx-workers``
  worker processes (default ``auto``, one per CPU), the folder as its root, ``sendfile``,
  keep-alive, the access log off, the pid, error log and temporary files in that folder;
- ``asyncio``: a file server of a few lines on the standard library's asyncio, HTTP/1.1
  keep-alive, each answer read from disk (the OS's page cache) at every request, as a
  plain server does; no cache of its own;
- ``http.server``: ``python -m http.server`` (one thread per connection, HTTP/1.0: a new
  connection per request).

Clients:

- ``wrk`` (``--client wrk``; ``bench.wrk``): ``--clients`` connections, a thread each, each
  asking for the site's HTML pages in turn from its own starting page, every answer
  checked (200 and the file's length), in a Lua script; wrk is compiled, so it takes far
  less of the machine's CPUs than the server it measures;
- ``python`` (the default): one process of asyncio connections, each asking for the site's
  HTML pages in turn, round-robin, and reading every body whole; every answer must be 200
  with the file's length. Client and server share the machine's CPUs, so the client's
  cost is in the figure.

Printed: pages per second of each round, the best and the worst, and the latency (median,
95th percentile, worst) over all rounds; with wrk also the share of one CPU wrk used.
"""

from __future__ import annotations

import argparse
import asyncio
import grp
import mimetypes
import multiprocessing
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bench import wrk


async def _serve_connection(root: Path, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            path = unquote(urlsplit(target).path)
            if path.endswith("/"):
                path += "index.html"
            file = (root / path.lstrip("/")).resolve()
            if method != "GET" or not file.is_relative_to(root) or not file.is_file():
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            else:
                body = file.read_bytes()
                kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _asyncio_server(root: str, port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: _serve_connection(Path(root).resolve(), r, w), "127.0.0.1", port,
            backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"the server on port {port} did not start")


async def _client(port: int, pages: list[tuple[str, int]], start: int, until: float,
                  keep_alive: bool, latencies: list[float]) -> int:
    done = 0
    reader = writer = None
    index = start
    while time.perf_counter() < until:
        url, size = pages[index % len(pages)]
        index += 1
        began = time.perf_counter()
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert reader is not None
        connection = b"keep-alive" if keep_alive else b"close"
        writer.write(b"GET " + url.encode() + b" HTTP/1.1\r\nHost: bench\r\nConnection: "
                     + connection + b"\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), None)
        body = await (reader.readexactly(length) if length is not None else reader.read())
        if status != b"200" or len(body) != size:
            raise SystemExit(f"{url}: answered {status.decode()} with {len(body)} bytes")
        latencies.append(time.perf_counter() - began)
        done += 1
        if not keep_alive or length is None:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()
    return done


async def _round(port: int, pages: list[tuple[str, int]], clients: int, seconds: float,
                 keep_alive: bool, latencies: list[float]) -> float:
    began = time.perf_counter()
    until = began + seconds
    counts = await asyncio.gather(*(
        _client(port, pages, n * len(pages) // clients, until, keep_alive, latencies)
        for n in range(clients)))
    return sum(counts) / (time.perf_counter() - began)


NGINX_CONF = """\
# Written by bench/static_bench.py: the folder, served as it is.
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
{user}
events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{
        text/html html;
        text/css css;
        application/javascript js;
        application/json json;
        image/svg+xml svg;
        image/png png;
        text/csv csv;
        text/plain txt;
        application/pdf pdf;
        application/xml xml;
    }}
    default_type application/octet-stream;

    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
        location / {{
            try_files $uri $uri/ =404;
        }}
    }}
}}
"""


def _nginx(root: Path, port: int, workers: str, tmp: Path) -> subprocess.Popen[bytes]:
    """nginx on ``port`` serving ``root``, its files in ``tmp``, in the foreground."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx-light)")
    user = ""
    if os.geteuid() == 0:  # its workers would run as nobody, who may not read the folder
        owner = root.stat()
        user = (f"user {pwd.getpwuid(owner.st_uid).pw_name} "
                f"{grp.getgrgid(owner.st_gid).gr_name};")
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, tmp=tmp, user=user, port=port,
                                      root=root), encoding="utf-8")
    return subprocess.Popen([nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c",
                             str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _server_version(server: str) -> str:
    if server != "nginx":
        return f"{server} server"
    done = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-v"],
                          capture_output=True, text=True, check=False)
    return (done.stderr.strip().partition("version: ")[2] or "nginx") + " server"


def _python_rounds(args: argparse.Namespace, port: int, pages: list[tuple[str, int]],
                   latencies: list[float]) -> list[float]:
    keep_alive = args.server != "http.server"
    asyncio.run(_round(port, pages, args.clients, 1.0, keep_alive, []))  # warm-up
    return [asyncio.run(_round(port, pages, args.clients, args.seconds, keep_alive,
                               latencies)) for _ in range(args.rounds)]


def _wrk_rounds(args: argparse.Namespace, port: int, pages: list[tuple[str, int]],
                latencies: list[float], cpu: list[float]) -> list[float]:
    steps = [wrk.Step(path, size=size) for path, size in pages]
    rates = []
    for n in range(args.rounds + 1):  # the first is the warm-up
        run = wrk.run(port, steps, connections=args.clients,
                      seconds=1.0 if n == 0 else args.seconds)
        problem = run.problem()
        if problem:
            raise SystemExit(f"wrk: {problem}")
        if n:
            rates.append(run.rate)
            latencies.extend(run.samples)
            cpu.append(run.cpu_share)
    return rates


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a folder written by publish-static")
    parser.add_argument("--server", choices=("asyncio", "http.server", "nginx"),
                        default="asyncio")
    parser.add_argument("--client", choices=("python", "wrk"), default="python",
                        help="the load: asyncio connections in this process, or wrk")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--nginx-workers", default="auto",
                        help="nginx's worker_processes: a number or auto (default)")
    args = parser.parse_args(argv)
    if args.client == "wrk" and args.seconds < 1:
        parser.error("wrk runs whole seconds: --seconds must be at least 1")
    root = args.folder.resolve()
    pages = [("/" + p.relative_to(root).as_posix(), p.stat().st_size)
             for p in sorted(root.rglob("*.html"))]
    if not pages:
        raise SystemExit(f"{root} holds no pages: publish a site there first")
    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="sf_static_bench-"))
    stop: Callable[[], object]
    if args.server == "asyncio":
        server = multiprocessing.Process(target=_asyncio_server, args=(str(root), port),
                                         daemon=True)
        server.start()
        stop = server.terminate
    else:
        process = _nginx(root, port, args.nginx_workers, tmp) if args.server == "nginx" \
            else subprocess.Popen(
                [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                 "--directory", str(root)], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)

        def stop() -> None:
            process.terminate()
            process.wait(timeout=30)
    latencies: list[float] = []
    cpu: list[float] = []
    try:
        _wait_for(port)
        rates = (_wrk_rounds(args, port, pages, latencies, cpu) if args.client == "wrk"
                 else _python_rounds(args, port, pages, latencies))
    finally:
        stop()
        shutil.rmtree(tmp, ignore_errors=True)
    latencies.sort()
    size = statistics.mean(s for _, s in pages)
    workers = f", worker_processes {args.nginx_workers}" if args.server == "nginx" else ""
    print(f"{_server_version(args.server)}{workers}, {args.client} client, {len(pages)} pages "
          f"(mean {size / 1024:.1f} KiB), {args.clients} clients, {args.rounds} rounds of "
          f"{args.seconds:g} s, {os.cpu_count()} CPUs")
    print("pages/s per round: " + ", ".join(f"{r:,.0f}" for r in rates))
    print(f"best {max(rates):,.0f} pages/s, worst {min(rates):,.0f} pages/s")
    print(f"latency: median {statistics.median(latencies) * 1000:.2f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.2f} ms, "
          f"worst {latencies[-1] * 1000:.2f} ms")
    if cpu:
        print(f"wrk's own CPU: {min(cpu):.0%} to {max(cpu):.0%} of one CPU per round")


if __name__ == "__main__":
    main()
