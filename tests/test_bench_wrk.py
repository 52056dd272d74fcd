"""The benchmarks' wrk driver (bench/wrk.py): the script it writes, what it reads back,
and, where wrk is installed, a short run against a file server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from bench import wrk


def test_script_escapes_every_byte_and_keeps_whole_views():
    text = wrk.script([wrk.Step("/a", text="雁江区\"]]"), wrk.Step("/b", size=12)], view=2,
                      connections=8)
    assert '"\\47\\97"' in text  # "/a", byte by byte
    assert "雁" not in text and '"]]' not in text
    assert "size = 12" in text and "local VIEW = 2" in text
    with pytest.raises(ValueError, match="whole views"):
        wrk.script([wrk.Step("/a")], view=2, connections=1)


def test_parse_counts_views_per_connection_span():
    output = "\n".join([
        "Running 10s test @ http://127.0.0.1:1/",
        "SF-SUMMARY 2000000 30 0 0 0 0 0",
        "SF-THREAD 10 0 1000000 ",
        "SF-SAMPLES " + " ".join(["100000"] * 10),
        "SF-THREAD 20 1 2000000 status 500 on /x",
        "SF-SAMPLES " + " ".join(["50000"] * 20),
    ])
    run = wrk.parse(output, 2)
    assert run.views == 30 and run.requests == 30 and run.duration == 2.0
    assert run.rate == pytest.approx(10 / 1.0 + 20 / 2.0)
    assert run.median == pytest.approx(0.05) and run.worst == pytest.approx(0.1)
    assert run.problem() == "1 wrong answers, the first: status 500 on /x"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(wrk.find() is None, reason="wrk is not installed")
def test_a_short_run_checks_every_answer(tmp_path):
    (tmp_path / "a.html").write_text("<p>雁江区</p>", encoding="utf-8")
    (tmp_path / "b.html").write_text("<p>b</p>", encoding="utf-8")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            assert time.monotonic() < deadline, "http.server did not start"
            time.sleep(0.05)
        steps = [wrk.Step("/a.html", text="雁江区"), wrk.Step("/b.html", size=8)]
        good = wrk.run(port, steps, view=2, connections=2, seconds=1)
        assert good.problem() is None and good.views > 0
        assert good.requests in (2 * good.views, 2 * good.views + 1, 2 * good.views + 2)
        bad = wrk.run(port, [wrk.Step("/a.html", text="安岳县")], connections=1, seconds=1)
        assert bad.problem() is not None and "expected text missing on /a.html" in bad.problem()
    finally:
        server.terminate()
        server.wait(timeout=10)
