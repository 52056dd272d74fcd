"""docs/operations.md's "Production" section is run as written: its blocks marked
``<!-- run-by-test -->``, in order, in one shell, on a fresh PostgreSQL database and role,
from a fresh copy of the checkout; gunicorn started by its last block, in the background;
then a sign-in as the first administrator through the headers the documented nginx adds.

The test sets only the variables of the block marked ``<!-- variables: set by the test -->``
(and checks it sets exactly those), plus ``GUNICORN_CMD_ARGS`` to bind a free port with one
worker. The shell runs with ``set -euxo pipefail``, so a failing command stops it.
Installing the package into a new virtual environment takes a minute or two.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "operations.md"
SITE = "fund.example.gov.cn"  # the host name of deploy/nginx-specialfund.conf
CLIENT = "203.0.113.7"  # the browser's address, as nginx forwards it
STARTS_WITHIN = 900  # seconds: the install, the migrations and gunicorn's start
VARIABLES = "variables: set by the test"


def production_blocks() -> list[tuple[str, str]]:
    """The marked ``sh`` blocks of the Production section, in order, as (marker, code)."""
    text_ = DOCS.read_text(encoding="utf-8")
    section = text_[text_.index("\n## Production\n"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"^<!-- ((?:run-by-test|variables)[^>]*?) -->\n```sh\n(.*?)^```$",
                      section, flags=re.MULTILINE | re.DOTALL)


def variables_named(block: str) -> set[str]:
    names = set(re.findall(r"(?:^|\s)(?:export\s+)?([A-Z][A-Z0-9_]*)=", block, re.MULTILINE))
    names |= set(re.findall(r"^read\b.*\s([A-Z][A-Z0-9_]*);", block, re.MULTILINE))
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_checkout(target: Path) -> Path:
    """The files of the checkout (tracked, and new ones not ignored), as a release would
    hold them: nothing of .venv/, instance/ or build/ comes along."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True,
                            check=False)
    if listed.returncode != 0:  # not a git checkout: everything but what git would ignore
        shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(
            ".git", ".venv", "instance", "build", "dist", "*.egg-info", "__pycache__",
            ".pytest_cache", ".ruff_cache", ".hypothesis"))
        return target
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


class Browser:
    """A browser behind the documented nginx: it speaks https to SITE, and nginx passes
    each request to gunicorn on plain http with Host, X-Forwarded-For and
    X-Forwarded-Proto. Cookies are kept (the Secure ones too: the browser's side is https);
    redirects are followed by hand, so each one is seen."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                ) -> tuple[int, http.client.HTTPMessage, str]:
        headers = {"Host": SITE, "X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https",
                   "Referer": f"https://{SITE}/login"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            page = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0":  # a cookie deleted
                    self.cookies.pop(name, None)
                    continue
                assert morsel["secure"], f"cookie {name} is not Secure behind https: {header}"
                self.cookies[name] = morsel.value
        return response.status, response.headers, page

    def follow(self, status: int, headers: http.client.HTTPMessage, page: str,
               ) -> tuple[int, http.client.HTTPMessage, str]:
        for _ in range(5):
            if status not in (301, 302, 303):
                break
            target = urlsplit(headers["Location"])
            # Relative, or absolute on the site's https address: never the app's own http.
            assert (target.scheme, target.netloc) in {("", ""), ("https", SITE)}, target
            status, headers, page = self.request(
                "GET", target.path + (f"?{target.query}" if target.query else ""))
        return status, headers, page


def wait_for_gunicorn(process: subprocess.Popen[bytes], browser: Browser, log: Path,
                      ) -> tuple[int, http.client.HTTPMessage, str]:
    deadline = time.monotonic() + STARTS_WITHIN
    while True:
        try:
            return browser.request("GET", "/login")
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                why = (f"the procedure exited with status {process.returncode}"
                       if process.poll() is not None else "gunicorn did not answer in time")
                pytest.fail(f"{why}; the end of its output:\n"
                            + log.read_text(errors="replace")[-6000:], pytrace=False)
            time.sleep(1)


def logged(log: Path, pattern: str) -> bool:
    """Whether a line of the log matches, waiting a little: gunicorn writes the access
    log line once the answer has gone."""
    deadline = time.monotonic() + 10
    while not re.search(pattern, log.read_text(errors="replace"), re.MULTILINE):
        if time.monotonic() > deadline:
            print(log.read_text(errors="replace")[-3000:])  # shown with the failure
            return False
        time.sleep(0.2)
    return True


@pytest.fixture
def postgres() -> dict[str, str]:
    url = os.environ.get("TEST_DATABASE_URL") or ""
    if not url.startswith("postgresql"):
        pytest.skip("TEST_DATABASE_URL does not name a PostgreSQL server; the production "
                    "procedure is written for PostgreSQL")
    return {"url": url}


@pytest.mark.slow
def test_the_production_procedure_runs_as_written(postgres, tmp_path):
    blocks = production_blocks()
    markers = [marker for marker, _ in blocks]
    assert markers[0] == VARIABLES and markers.count(VARIABLES) == 1, markers
    run = [code for marker, code in blocks if marker.startswith("run-by-test")]
    assert markers[-1].startswith("run-by-test: in the background"), markers
    assert run[-1].lstrip().startswith("gunicorn "), run[-1]

    admin = make_url(postgres["url"])
    suffix = uuid.uuid4().hex[:10]
    port = free_port()
    site = {
        "PREFIX": str(tmp_path / "opt" / "specialfund"),
        "ETC": str(tmp_path / "etc" / "specialfund"),
        "INSTANCE": str(tmp_path / "srv" / "specialfund"),
        "DB_HOST": f"{admin.host or '127.0.0.1'}:{admin.port or 5432}",
        "DB_NAME": f"sf_prod_docs_{suffix}",
        "DB_USER": f"sf_prod_docs_{suffix}",
        "PGHOST": admin.host or "127.0.0.1",
        "PGUSER": admin.username or "postgres",
        "ADMIN_PASSWORD": f"first-admin-{suffix}",
    }
    assert set(site) == variables_named(blocks[0][1]), "step 0's variables changed"
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        # Where pip finds packages on this machine; the server's port; this test's place.
        **{k: v for k, v in os.environ.items() if k.startswith("PIP_") or k == "TMPDIR"},
        "PGPORT": str(admin.port or 5432),
        **({"PGPASSWORD": admin.password} if admin.password else {}),
        "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port} --workers 1",
        **site,
    }
    source = fresh_checkout(tmp_path / "checkout")
    log = tmp_path / "procedure.log"
    script = "set -euxo pipefail\n" + "\n".join(run)

    database = create_engine(postgres["url"], isolation_level="AUTOCOMMIT")
    with log.open("wb") as output:
        process = subprocess.Popen(["bash", "-c", script], cwd=source, env=env,
                                   stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        browser = Browser(port)
        status, headers, page = wait_for_gunicorn(process, browser, log)
        assert status == 200, page
        assert headers["Server"] == "specialfund"
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, page
        assert browser.cookies, "the sign-in form's session cookie"

        status, headers, page = browser.follow(*browser.request("POST", "/login", form={
            "csrf_token": token.group(1), "username": "admin1",
            "password": site["ADMIN_PASSWORD"]}))
        assert status == 200, page
        assert 'action="/logout"' in page, page  # signed in
        assert "admin1" in page  # the administrator's own user list
        # The app took the client's address from X-Forwarded-For (SPECIALFUND_PROXY_HOPS=1
        # trusts nginx's entry), and gunicorn's access log on standard output shows it.
        assert logged(log, rf'^{re.escape(CLIENT)} "POST /login" 302 .* request_id=[0-9a-f]{{32}}$')

        # Step 3's settings: root alone reads the keys.
        env_file = Path(site["ETC"]) / "env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert "SPECIALFUND_DATA_KEY=" in env_file.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # gunicorn stops gracefully, bash with it
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        with database.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{site["DB_NAME"]}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{site["DB_USER"]}"'))
        database.dispose()
        shutil.rmtree(site["PREFIX"], ignore_errors=True)  # a few hundred MB
        shutil.rmtree(source, ignore_errors=True)
