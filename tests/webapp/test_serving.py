"""The servers name no version: Werkzeug's development server (``specialfund run``) and
gunicorn with the app's config each answer ``Server: specialfund``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(command: list[str], port: int, env: dict[str, str]) -> dict[str, str]:
    """Start a server, read the headers of one public page, stop it."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/public/data/",
                                            timeout=5) as response:
                    return dict(response.headers)
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.stderr.read().decode()[-2000:]) from None
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


@pytest.fixture
def server_env(database_url) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": "0"}
    env.pop("SPECIALFUND_ENV", None)
    return env


@pytest.mark.slow
def test_the_development_server_names_no_version(server_env):
    port = free_port()
    headers = serve([str(BIN / "specialfund"), "run", "--port", str(port)], port, server_env)
    assert headers["Server"] == "specialfund"
    assert headers["Cache-Control"] == "public, max-age=60"  # an anonymous public page


@pytest.mark.slow
def test_gunicorn_with_the_apps_config_names_no_version(server_env):
    port = free_port()
    headers = serve([str(BIN / "gunicorn"), "-c", "python:webapp.gunicorn_config",
                     "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-control-socket",
                     "webapp:create_app()"], port, server_env)
    assert headers["Server"] == "specialfund"


@pytest.mark.slow
def test_the_development_server_refuses_to_start_without_keys(server_env):
    env = {k: v for k, v in server_env.items() if k != "SPECIALFUND_DATA_KEY"}
    done = subprocess.run([str(BIN / "specialfund"), "run", "--port", str(free_port())],
                          env={**env, "SPECIALFUND_LANG": "en"}, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("Error: SPECIALFUND_DATA_KEY not set.")
