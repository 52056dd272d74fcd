"""What responses let others keep, and what they say about the server: every private
response is no-store whatever its type; public pages and open data carry validators
and a short public max-age, and answer 304 when unchanged; HSTS and ProxyFix only
when configured."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import g, request, session  # noqa: TID251 - probe routes see what the app saw
from werkzeug.http import http_date

from core.db import transaction
from tests.webapp.conftest import prepared
from tests.webapp.test_attachments import PDF, upload
from tests.worlds import make_token
from webapp import create_app
from webapp.extensions import db


def test_every_private_response_is_no_store(app, world, login, factory, disclosed):
    auditor, office, ca = login("aud"), login("co"), login("ca")
    assert upload(ca, disclosed.approved, PDF, "申报书.pdf").status_code == 302
    page = ca.get(f"/projects/{disclosed.approved}").get_data(as_text=True)
    attachment = page.split(f"/projects/{disclosed.approved}/attachments/")[1].split('"')[0]
    with transaction(factory) as session:
        token, _row = make_token(session, "aud", name="t",
                                   expires_on=None)
    bearer = {"Authorization": f"Bearer {token}"}
    answers = {
        "signed-in page": auditor.get("/dashboard"),
        "project page": ca.get(f"/projects/{disclosed.approved}"),
        "download csv": auditor.get("/downloads/file?fund=YJQ&report=fund-statement"
                                    "&period=2026&format=csv"),
        "download xlsx (a job's file)": prepared(auditor, "fund=YJQ&report=donation-register"
                                                          "&period=2026&format=xlsx"),
        "a job's page": auditor.get(auditor.post("/downloads/prepare", data={
            "fund": "YJQ", "report": "beancount"}).headers["Location"]),
        "receipt pdf": office.get(f"/funds/YJQ/receipts/{disclosed.firm_receipt}.pdf"),
        "attachment": ca.get(f"/projects/{disclosed.approved}/attachments/{attachment}"),
        "api json": app.test_client().get("/api/v1/funds", headers=bearer),
        "api problem": app.test_client().get("/api/v1/funds"),
        "openapi": app.test_client().get("/api/v1/openapi.json"),
        "sign-in form": app.test_client().get("/login"),
        "error page": app.test_client().get("/no/such/page"),
        "public page, signed in": auditor.get("/public/"),
        "open data, signed in": auditor.get("/public/data/funds.csv"),
    }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {**dict.fromkeys(answers, 200), "api problem": 401, "error page": 404}
    kinds = {r.mimetype for r in answers.values()}
    assert {"application/pdf", "text/csv", "application/json", "text/html"} <= kinds
    for name, response in answers.items():
        assert response.headers.get("Cache-Control") == "no-store", name
        assert "ETag" not in response.headers or name == "attachment", name
        response.close()


def test_open_data_is_public_for_a_minute_with_validators(app, disclosed, post):
    for url in ("/public/data/funds.csv", "/public/data/projects.json",
                "/public/data/donations.csv?fund=YJQ&year=2026"):
        response = app.test_client().get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=60"
        assert response.headers["ETag"].startswith('W/"')
        assert "Cookie" in response.headers["Vary"]
        assert "Set-Cookie" not in response.headers
        # The last change the site can show: the newest audit record, 10:00 today.
        assert response.headers["Last-Modified"] == "Wed, 01 Jul 2026 02:00:00 GMT"

    client = app.test_client()
    first = client.get("/public/data/projects.csv")
    etag = first.headers["ETag"]
    again = client.get("/public/data/projects.csv", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "public, max-age=60"
    since = client.get("/public/data/projects.csv",
                       headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    older = http_date(dt.datetime(2026, 6, 30, tzinfo=dt.UTC))
    assert client.get("/public/data/projects.csv",
                      headers={"If-Modified-Since": older}).status_code == 200
    assert client.get("/public/data/projects.csv",
                      headers={"If-None-Match": 'W/"something-else"'}).status_code == 200

    post("interest", "YJQ", date=dt.date(2026, 6, 30), amount="1.23")  # the books moved
    changed = client.get("/public/data/projects.csv", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.data
    assert changed.headers["ETag"] != etag


def test_the_published_annual_report_is_public_for_a_minute(app, disclosed, login):
    fin = login("fin1")
    fin.post("/funds/YJQ/annual/2025", data={
        "overview": "全年资助留守儿童。", "work": "开展助学项目。",
        "finance": "收支详见报表。", "plans": "继续做好资助工作。"})
    assert fin.post("/funds/YJQ/annual/2025/publish").status_code == 302
    client = app.test_client()
    response = client.get("/public/funds/YJQ/annual/2025.pdf")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    etag = response.headers["ETag"]
    response.close()
    assert client.get("/public/funds/YJQ/annual/2025.pdf",
                      headers={"If-None-Match": etag}).status_code == 304
    staff_copy = fin.get("/funds/YJQ/annual/2025.pdf")  # the same file, signed in
    assert staff_copy.headers["Cache-Control"] == "no-store"
    staff_copy.close()


def test_public_pages_are_public_for_a_minute_and_answer_304(app, disclosed):
    client = app.test_client()
    for url in ("/public/", "/public/funds/YJQ", "/public/funds/YJQ?year=2025",
                "/public/data/"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=60", url
        assert "Set-Cookie" not in response.headers
        unchanged = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert unchanged.status_code == 304 and unchanged.data == b"", url
    chinese = client.get("/public/")
    answer = client.get("/public/?lang=en", headers={"If-None-Match": chinese.headers["ETag"]})
    assert answer.status_code == 200 and "All funds" in answer.get_data(as_text=True)


@pytest.mark.parametrize("own", ["csrf token", "cookie"])
def test_a_public_page_holding_something_of_the_visitor_is_not_kept(app, disclosed, own):
    """A page that made the visitor a CSRF token (a form of their own) or a cookie is
    theirs alone: never shared, whatever page it is."""
    making = []

    @app.before_request
    def something_of_their_own():  # type: ignore[no-untyped-def]
        if making and own == "csrf token":
            g.csrf_token = "the visitor's own"  # where Flask-WTF keeps the token it made
        elif making:
            session["seen"] = True

    assert app.test_client().get("/public/").headers["Cache-Control"] == "public, max-age=60"
    making.append(True)
    response = app.test_client().get("/public/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


def test_hsts_only_when_configured(app, database_url, instance_folder, world):
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    secure = create_app({"DATABASE_URL": database_url, "TESTING": True,
                         "HSTS_SECONDS": 31536000})
    try:
        for url in ("/login", "/public/data/funds.csv", "/api/v1/funds"):
            response = secure.test_client().get(url, base_url="https://fund.example")
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    finally:
        db.dispose_all()


def test_hsts_and_proxy_hops_come_from_the_environment(database_url, instance_folder,
                                                       monkeypatch):
    monkeypatch.setenv("SPECIALFUND_HSTS_SECONDS", "600")
    monkeypatch.setenv("SPECIALFUND_PROXY_HOPS", "1")
    configured = create_app({"DATABASE_URL": database_url, "TESTING": True})
    db.dispose_all()
    assert (configured.config["HSTS_SECONDS"], configured.config["PROXY_HOPS"]) == (600, 1)
    monkeypatch.setenv("SPECIALFUND_PROXY_HOPS", "one")
    from webapp.config import ConfigurationError

    with pytest.raises(ConfigurationError) as refused:
        create_app({"DATABASE_URL": database_url, "TESTING": True})
    assert refused.value.params == {"name": "SPECIALFUND_PROXY_HOPS"}


def _probe(app):
    @app.route("/_probe")
    def probe():  # type: ignore[no-untyped-def]
        return f"{request.remote_addr} {request.scheme}"

    return app.test_client()


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_count_only_behind_a_configured_proxy(database_url, instance_folder):
    direct = _probe(create_app({"DATABASE_URL": database_url, "TESTING": True}))
    proxied = _probe(create_app({"DATABASE_URL": database_url, "TESTING": True,
                                 "PROXY_HOPS": 1}))
    try:
        assert direct.get("/_probe", headers=FORWARDED).text == "127.0.0.1 http"
        assert proxied.get("/_probe", headers=FORWARDED).text == "203.0.113.9 https"
        # One proxy: only the address it added counts, not one the client put before it.
        spoofed = {**FORWARDED, "X-Forwarded-For": "10.9.9.9, 203.0.113.9"}
        assert proxied.get("/_probe", headers=spoofed).text == "203.0.113.9 https"
    finally:
        db.dispose_all()
