"""The worked example of docs/api.md, run as its reader runs it: the demo data, tokens
made with `specialfund token create`, the app served over HTTP, and the example script
in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from webapp import create_app
from webapp.demo import DEMO_PASSWORD
from webapp.extensions import db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "api_example.py"


@pytest.mark.slow
def test_the_worked_example_runs_against_the_demo(run, database_url):
    assert run("init")[0] == 0
    status, _out, err = run("demo", "--years", "1")
    assert status == 0, err
    tokens = {}
    for name in ("ca", "co", "fin1", "fin2"):
        status, out, err = run("token", "create", f"yjq_{name}", "--name", "api example",
                               stdin=DEMO_PASSWORD + "\n")
        assert status == 0, err
        tokens[f"TOKEN_{name.upper()}"] = out.strip()
    app = create_app({"DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [sys.executable, str(EXAMPLE)], check=False, capture_output=True, text=True,
            timeout=120,
            env={**os.environ, **tokens,
                 "SPECIALFUND_URL": f"http://127.0.0.1:{server.server_port}"})
    finally:
        server.shutdown()
        thread.join(timeout=10)
        db.dispose_all()
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("drafted YJQ-") and lines[0].endswith("draft")
    assert lines[1] == "approved 50000.00 approved"
    assert lines[2].startswith("paid YJQ#") and lines[2].endswith(" paid")
    assert any(line.startswith("Education aid") for line in lines[3:])
