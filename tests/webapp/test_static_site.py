"""The public site published as signed static files: served by a plain web server it
shows what the app shows; `verify-static` and the commands of the verify page accept
the copy as published and refuse any change to it."""

from __future__ import annotations

import functools
import hashlib
import html
import json
import posixpath
import re
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.errors import InvalidInput
from core.signing import fingerprint, load_public_key, load_signing_key, new_signing_key
from reports import mirror
from tests.webapp.test_public_site import FIRM_NAME
from tests.worlds import CHILD, GUARDIAN, NUMBER, USERS
from webapp.static_site import canonical, file_for

_LINK = re.compile(r'\s(?:href|src)="([^"]*)"')


@pytest.fixture(autouse=True)
def signing_key(monkeypatch) -> str:
    """The app's signing key (set before the app is made)."""
    value = new_signing_key()
    monkeypatch.setenv("SPECIALFUND_SIGNING_KEY", value)
    return value


@pytest.fixture
def published(disclosed, listed, login, run, tmp_path) -> Path:
    """The small world, with an annual report published, published as a static site."""
    fin = login("fin1")
    fin.post("/funds/YJQ/annual/2025", data={
        "overview": "全年资助留守儿童。", "work": "开展助学项目。",
        "finance": "收支详见报表。", "plans": "继续做好资助工作。"})
    assert fin.post("/funds/YJQ/annual/2025/publish").status_code == 302
    folder = tmp_path / "site"
    code, out, err = run("publish-static", str(folder))
    assert code == 0, err
    assert out.startswith(f"Static site written to {folder}:"), out
    return folder


@pytest.fixture
def served(published) -> Iterator[str]:
    """The published folder served by Python's plain static file server."""
    handler = functools.partial(_QuietHandler, directory=str(published))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.read(), response.headers.get_content_type()
    except HTTPError as error:
        return error.code, b"", ""


def live_url(file: str) -> str:
    """The app's address of a published file (file_for backwards)."""
    lang = file.startswith("en/")
    path = file.removeprefix("en/")
    folder, _, name = path.rpartition("/")
    stem, _, suffix = name.rpartition(".")
    parts = stem.split(".")
    query = [tuple(part.split("-", 1)) for part in parts[1:]]
    last = parts[0] + ("" if suffix == "html" else f".{suffix}")
    url = "/" + folder + "/" + ("" if last == "index" and suffix == "html" else last)
    if lang:
        query.append(("lang", "en"))
    return url + ("?" + urlencode(sorted(query)) if query else "")


def normalized_static(body: str, file: str) -> str:
    """Every link as the app's address it stands for."""
    def to_live(match: re.Match[str]) -> str:
        href = html.unescape(match.group(1))
        path, _, fragment = href.partition("#")
        if re.match(r"[a-z]+:", path) or not path:
            return match.group(0)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(file), path))
        return f' href="{live_url(target)}{"#" + fragment if fragment else ""}"'
    return _LINK.sub(to_live, body)


def normalized_live(body: str, url: str) -> str:
    """Every link as the address the static site publishes for it."""
    def canonical_link(match: re.Match[str]) -> str:
        href = html.unescape(match.group(1))
        if href.startswith("#") or re.match(r"[a-z]+:", href):
            return match.group(0)
        address = canonical(urljoin(url, href))
        parts = urlsplit(address)
        query = urlencode(sorted(tuple(q.split("=", 1)) for q in parts.query.split("&") if q))
        fragment = "#" + parts.fragment if parts.fragment else ""
        return f' href="{parts.path}{"?" + query if query else ""}{fragment}"'
    return _LINK.sub(canonical_link, body)


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_bytes())


def test_addresses_become_files_a_plain_server_serves():
    assert file_for("/public/") == "public/index.html"
    assert file_for("/public/?lang=en") == "en/public/index.html"
    assert file_for("/public/funds/YJQ?year=2025&lang=en") == "en/public/funds/YJQ.year-2025.html"
    assert file_for("/public/funds/YJQ?year=2026&projects_page=2") == \
        "public/funds/YJQ.projects_page-2.year-2026.html"
    assert file_for("/public/data/donations.csv?fund=YJQ") == "public/data/donations.fund-YJQ.csv"
    assert file_for("/public/funds/YJQ/annual/2025.pdf") == "public/funds/YJQ/annual/2025.pdf"
    assert file_for("/static/css/app.css") == "static/css/app.css"
    assert canonical("/public/funds/YJQ?year=2026&projects_page=3&donations_page=2#donations") \
        == "/public/funds/YJQ?year=2026&donations_page=2#donations"
    for outside in ("/login", "/public/../login", "/public/data/x.csv?fund=../a",
                    "https://example.org/public/"):
        with pytest.raises(InvalidInput) as refused:
            file_for(outside)
        assert refused.value.message_id == "{url} is not an address of the public site."


def test_the_static_site_shows_what_the_app_shows(published, served, site):
    """Following every link from the two front pages over a plain web server reaches every
    published file, each page equal to the live one (links compared as the addresses they
    stand for) and each data file, report and style sheet equal byte for byte."""
    listed = set(manifest_of(published)["files"]) - {mirror.SUMS}
    reached: set[str] = set()
    queue = ["public/index.html", "en/public/index.html"]
    while queue:
        file = queue.pop()
        if file in reached:
            continue
        reached.add(file)
        status, content, kind = fetch(f"{served}/{file}")
        assert status == 200, file
        live = site.get(live_url(file))
        assert live.status_code == 200, file
        expected = live.get_data()
        live.close()
        if kind != "text/html":
            assert content == expected, file
            continue
        body = content.decode()
        assert normalized_static(body, file) == normalized_live(expected.decode(),
                                                                live_url(file)), file
        for href in _LINK.findall(body):
            path = html.unescape(href).partition("#")[0]
            if path and not re.match(r"[a-z]+:", path):
                queue.append(posixpath.normpath(posixpath.join(posixpath.dirname(file), path)))
    assert reached == listed
    # What the site has: each fund for each of its years, both languages, the data, a PDF.
    for file in ("public/funds/YJQ.html", "public/funds/YJQ.year-2025.html",
                 "en/public/funds/ZYS.year-2025.html", "public/data/index.html",
                 "public/verify.html", "public/data/donations.csv",
                 "public/data/donations.fund-YJQ.json", "public/funds/YJQ/annual/2025.pdf",
                 "static/css/public.css"):
        assert file in listed, file
    assert FIRM_NAME in (published / "public/funds/YJQ.year-2025.html").read_text()


def test_the_manifest_holds_the_heads_and_every_files_sum(published, session):
    manifest = manifest_of(published)
    with session.begin():
        assert manifest["heads"] == mirror.heads(session)
    assert set(manifest["heads"]["funds"]) == {"ZYS", "YJQ", "AYX"}
    assert manifest["format"] == "specialfund-static/1" and manifest["app_version"]
    assert manifest["generated_at"].startswith("2026-07-01T")
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((published / name).read_bytes()).hexdigest() == digest, name
    assert (published / "public-key.pem").is_file()


def test_verify_static_accepts_the_site_as_published(published, run):
    code, out, err = run("verify-static", str(published))
    assert (code, err) == (0, "")
    assert out == f"OK {published}: the signature holds and every file is as published.\n"
    code, out, _err = run("verify-static", str(published), "--public-key",
                          str(published / "public-key.pem"))
    assert code == 0


def _resign(folder: Path, key: Ed25519PrivateKey) -> None:
    (folder / "manifest.json.sig").write_bytes(key.sign((folder / "manifest.json").read_bytes()))


def _tamper_file(folder: Path) -> str:
    path = folder / "public/funds/YJQ.html"
    path.write_text(path.read_text().replace("测试基金YJQ", "测试基金XXX"))
    return "Changed: public/funds/YJQ.html (SHA-256 "


def _remove_file(folder: Path) -> str:
    (folder / "public/data/donations.fund-YJQ.csv").unlink()
    return "Missing: public/data/donations.fund-YJQ.csv"


def _add_file(folder: Path) -> str:
    (folder / "public/funds/evil.html").write_text("<p>冒充的页面</p>")
    return "Not in the manifest: public/funds/evil.html"


def _tamper_manifest(folder: Path) -> str:
    path = folder / "manifest.json"
    path.write_bytes(path.read_bytes().replace(b'"YJQ"', b'"YJX"', 1))
    return "The signature of manifest.json does not hold for the key "


def _other_key(folder: Path) -> str:
    other = Ed25519PrivateKey.generate()
    path = folder / "public/funds/YJQ.html"
    path.write_text(path.read_text().replace("测试基金YJQ", "测试基金XXX"))
    manifest = manifest_of(folder)
    manifest["files"]["public/funds/YJQ.html"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_bytes(mirror.manifest_bytes(manifest))
    _resign(folder, other)
    from core.signing import public_pem
    (folder / "public-key.pem").write_bytes(public_pem(other.public_key()))
    return "The signature of manifest.json does not hold for the key "


@pytest.mark.parametrize("change", [_tamper_file, _remove_file, _add_file, _tamper_manifest,
                                    _other_key])
def test_verify_static_refuses_a_changed_copy(published, run, tmp_path, change):
    copy = tmp_path / "copy"
    shutil.copytree(published, copy)
    says = change(copy)
    code, out, err = run("verify-static", str(copy))
    assert code == 1 and err == ""
    assert any(line.startswith(says) for line in out.splitlines()), out
    assert "OK" not in out


def test_verify_static_says_each_problem_in_chinese(published, run, tmp_path, monkeypatch):
    _remove_file(published)
    _add_file(published)
    monkeypatch.setenv("SPECIALFUND_LANG", "zh_CN")
    code, out, _err = run("verify-static", str(published))
    assert code == 1
    assert out.splitlines() == ["缺少文件：public/data/donations.fund-YJQ.csv",
                                "清单中没有的文件：public/funds/evil.html"]


def test_a_key_that_did_not_sign_the_site_refuses_it(published, run, tmp_path):
    other = tmp_path / "other.pem"
    from core.signing import public_pem
    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    code, out, _err = run("verify-static", str(published), "--public-key", str(other))
    assert code == 1
    assert "The signature of manifest.json does not hold for the key" in out
    assert "public-key.pem in the folder is not the key" in out


def test_the_published_site_holds_nothing_private(published):
    forbidden = [CHILD, GUARDIAN, NUMBER, "李秀兰", "雁江区希望小学", "csrf_token",
                 "尚未提交的草稿项目", "被驳回的项目", "SPECIALFUND_"]
    users = [name for name in USERS if len(name) > 3]  # fin1, city_fin, ...
    for path in published.rglob("*"):
        if not path.is_file() or path.suffix == ".pdf":
            continue
        content = path.read_bytes().decode("utf-8", errors="replace")
        for word in forbidden:
            assert word not in content, (path, word)
        for name in users:
            assert not re.search(rf"\b{name}\b", content), (path, name)


def test_the_key_printed_on_the_site_is_the_key_that_verifies(published, site, signing_key,
                                                              run, tmp_path):
    page = site.get("/public/verify").get_data(as_text=True)
    pem = html.unescape(re.search(r'<pre id="key-pem">(.*?)</pre>', page, re.S).group(1))
    printed = re.search(r'<span class="mono" id="key-sha256">([0-9a-f]{64})</span>', page)
    key = load_public_key(pem.encode())
    assert fingerprint(key) == printed.group(1) == \
        fingerprint(load_signing_key(signing_key).public_key())
    assert (published / "public-key.pem").read_text() == pem
    assert manifest_of(published)["public_key_sha256"] == printed.group(1)
    # Every public page's footer names it too.
    footer = site.get("/public/funds/YJQ?lang=en").get_data(as_text=True)
    assert f'data-key-sha256="{printed.group(1)}"' in footer
    saved = tmp_path / "from-the-page.pem"
    saved.write_text(pem)
    assert run("verify-static", str(published), "--public-key", str(saved))[0] == 0


def _steps(folder: Path) -> dict[str, str]:
    page = (folder / "public/verify.html").read_text()
    return {step: html.unescape(command) for step, command in
            re.findall(r'<code data-step="([a-z]+)">(.*?)</code>', page, re.S)}


def _bash(command: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True,
                          check=False)


def test_the_commands_of_the_verify_page_check_a_copy(published, tmp_path):
    steps = _steps(published)
    assert set(steps) == {"fingerprint", "signature", "sums", "files", "extra", "command"}
    key_sha = manifest_of(published)["public_key_sha256"]
    assert _bash(steps["fingerprint"], published).stdout.split()[0] == key_sha
    done = _bash(steps["signature"], published)
    assert (done.returncode, done.stdout.strip()) == (0, "Signature Verified Successfully")
    sums = _bash(steps["sums"], published).stdout.split()
    assert sums[1].strip('",') == sums[2]  # "SHA256SUMS": "<sum>", then <sum>  SHA256SUMS
    for step in ("files", "extra"):
        done = _bash(steps[step], published)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), step
    # And they refuse a copy changed in each way.
    copy = tmp_path / "copy"
    shutil.copytree(published, copy)
    _tamper_file(copy)
    assert "public/funds/YJQ.html: FAILED" in _bash(steps["files"], copy).stdout
    _add_file(copy)
    assert "public/funds/evil.html" in _bash(steps["extra"], copy).stdout
    _tamper_manifest(copy)
    done = _bash(steps["signature"], copy)
    assert done.returncode == 1 and "Signature Verification Failure" in done.stdout


def test_publishing_again_replaces_the_site_and_needs_a_key(published, run, monkeypatch,
                                                            tmp_path):
    (published / "public/funds/evil.html").write_text("x")
    assert run("publish-static", str(published))[0] == 0
    assert not (published / "public/funds/evil.html").exists()
    assert run("verify-static", str(published))[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    code, _out, err = run("publish-static", str(other))
    assert code == 1 and "neither empty nor a site published before" in err
    monkeypatch.delenv("SPECIALFUND_SIGNING_KEY")
    code, _out, err = run("publish-static", str(tmp_path / "new"))
    assert code == 1 and "SPECIALFUND_SIGNING_KEY is not set" in err
