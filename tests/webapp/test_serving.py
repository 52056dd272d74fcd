"""The servers name no version: Werkzeug's development server (``specialfund run``) and
gunicorn with the app's config each answer ``Server: specialfund``."""

from __future__ import annotations

import importlib
import os
import re
import runpy
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from gunicorn.config import Config

import webapp.gunicorn_config
from webapp.config import from_environment

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


def test_gunicorn_conf_lets_a_long_download_finish_and_nginx_waits_as_long(monkeypatch):
    """gunicorn.conf.py (docs/operations.md, Production) gives a request longer than the
    90 s a year's audit-log PDF takes, and the example nginx site agrees with it and with
    the app's limit on a request's size. The file is read as gunicorn reads it."""
    root = Path(__file__).resolve().parents[2]
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    importlib.reload(webapp.gunicorn_config)
    config = Config()
    for name, value in runpy.run_path(str(root / "gunicorn.conf.py")).items():
        if name in config.settings:
            config.set(name, value)
    assert config.timeout >= 120
    assert config.graceful_timeout == config.timeout
    assert config.keepalive > 2
    assert config.workers == 2 * len(os.sched_getaffinity(0)) + 1
    assert (config.accesslog, config.wsgi_app) == ("-", "webapp:create_app()")
    # Every setting of the package's file reaches gunicorn through this one.
    assert {name for name in vars(webapp.gunicorn_config) if name in config.settings} <= set(
        runpy.run_path(str(root / "gunicorn.conf.py")))
    assert "request_id=" in config.access_log_format and "%(U)s" in config.access_log_format
    assert config.bind == ["127.0.0.1:8000"]

    nginx = (root / "deploy" / "nginx-specialfund.conf").read_text()
    assert f"proxy_read_timeout {config.timeout}s;" in nginx
    assert "proxy_pass http://127.0.0.1:8000;" in nginx
    body = re.search(r"client_max_body_size (\d+)m;", nginx)
    assert body and int(body.group(1)) * 1024 * 1024 == from_environment(str(root))[
        "MAX_CONTENT_LENGTH"]
