"""Static site benchmark: the folder ``specialfund publish-static DIR`` writes, served by a
plain static file server, its pages asked for by concurrent clients.

    specialfund publish-static /tmp/site
    python -m bench.static_bench /tmp/site                      # 8 clients, 5 rounds of 5 s
    python -m bench.static_bench /tmp/site --server http.server --clients 8

Servers (each in its own process on loopback; none is installed here beyond Python:
no nginx, busybox httpd, darkhttpd or lighttpd):

- ``asyncio``: a file server of a few lines on the standard library's asyncio, HTTP/1.1
  keep-alive, each answer read from disk (the OS's page cache) at every request, as a
  plain server does; no cache of its own;
- ``http.server``: ``python -m http.server`` (one thread per connection, HTTP/1.0: a new
  connection per request).

The client (no ab, wrk, hey or oha here) is one process of asyncio connections, each
asking for the site's HTML pages in turn, round-robin, and reading every body whole;
every answer must be 200 with the file's length. Both share the machine's CPUs, so the
client's cost is in the figure. Printed: pages per second of each round, the best and
the worst, and the latency (median, 95th percentile, worst) over all rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import mimetypes
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a folder written by publish-static")
    parser.add_argument("--server", choices=("asyncio", "http.server"), default="asyncio")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    root = args.folder.resolve()
    pages = [("/" + p.relative_to(root).as_posix(), p.stat().st_size)
             for p in sorted(root.rglob("*.html"))]
    if not pages:
        raise SystemExit(f"{root} holds no pages: publish a site there first")
    port = _free_port()
    if args.server == "asyncio":
        server = multiprocessing.Process(target=_asyncio_server, args=(str(root), port),
                                         daemon=True)
        server.start()
        stop = server.terminate
    else:
        process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
             "--directory", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stop = process.terminate
    try:
        _wait_for(port)
        keep_alive = args.server == "asyncio"
        latencies: list[float] = []
        asyncio.run(_round(port, pages, args.clients, 1.0, keep_alive, []))  # warm-up
        rates = [asyncio.run(_round(port, pages, args.clients, args.seconds, keep_alive,
                                    latencies)) for _ in range(args.rounds)]
    finally:
        stop()
    latencies.sort()
    size = statistics.mean(s for _, s in pages)
    print(f"{args.server} server, {len(pages)} pages (mean {size / 1024:.1f} KiB), "
          f"{args.clients} clients, {args.rounds} rounds of {args.seconds:g} s, "
          f"{os.cpu_count()} CPUs")
    print("pages/s per round: " + ", ".join(f"{r:,.0f}" for r in rates))
    print(f"best {max(rates):,.0f} pages/s, worst {min(rates):,.0f} pages/s")
    print(f"latency: median {statistics.median(latencies) * 1000:.2f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.2f} ms, "
          f"worst {latencies[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
