"""Printed donation receipts (公益事业捐赠票据) and the locked-down PDF renderer.

The PDFs are read back with poppler (pdftotext, pdffonts, pdfinfo), as a reader would.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.db import transaction
from ledger.donations import add_donor, find_receipt, record_donation, void_receipt
from ledger.journal import find_fund
from reports.pdf import ASSETS, DATA_URL_LIMIT, AssetFetcher, RefusedURL, assets_url, render_pdf
from reports.receipts import charity_federation, receipt_pdf, receiving_unit

CREDIT_CODE = "91350100M000100Y43"
ID_NUMBER = "512002199003071230"


@dataclass(frozen=True)
class Receipts:
    enterprise: str  # a county fund's receipt: directed to education
    individual: str  # the city fund's receipt: undirected, donor anonymous in publication


@pytest.fixture
def receipts(factory, make_fund, actor, protector) -> Receipts:
    make_fund("ZYS")
    make_fund("YJQ", parent="ZYS")
    with transaction(factory) as s:
        company = add_donor(s, actor, "YJQ", kind="enterprise", name="四川蜀光电子科技有限公司",
                            credit_code=CREDIT_CODE)
        person = add_donor(s, actor, "ZYS", kind="individual", name="张晓梅", id_number=ID_NUMBER,
                           publish="anonymous", protector=protector)
        first = record_donation(s, actor, "YJQ", donor_id=company.id, date=dt.date(2026, 6, 28),
                                amount="12345.67", purpose="education")
        second = record_donation(s, actor, "ZYS", donor_id=person.id,
                                 date=dt.date(2026, 6, 30), amount="500")
        return Receipts(first.code, second.code)


def render(factory, fund_code: str, code: str) -> bytes:
    with factory() as s:
        return receipt_pdf(s, find_receipt(s, find_fund(s, fund_code), code))


def poppler(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / f"{tool}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                         check=True, capture_output=True, text=True, timeout=60)
    return out.stdout


def text_of(pdf: bytes, tmp_path: Path) -> str:
    """The page's text line by line as laid out, each line without its white space."""
    lines = poppler("pdftotext", pdf, tmp_path, "-layout").splitlines()
    return "\n".join("".join(line.split()) for line in lines)


def test_enterprise_receipt_shows_the_donation(factory, receipts, tmp_path):
    text = text_of(render(factory, "YJQ", receipts.enterprise), tmp_path)

    assert receipts.enterprise == "YJQ-2026-000001"
    for expected in (
        "公益事业捐赠统一票据",
        "票据号码：YJQ-2026-000001",
        "四川蜀光电子科技有限公司",
        "统一社会信用代码", CREDIT_CODE,
        "¥12,345.67",
        "壹万贰仟叁佰肆拾伍元陆角柒分",
        "捐赠项目（用途）助学",
        "捐赠日期2026年6月28日",
        "开票日期：2026年7月1日",
        "测试基金YJQ慈善会",  # a county fund's federation is the county's own
        "接受捐赠单位测试基金YJQ慈善会儿童专项基金",
        "开票人：tester",
        "账簿记录YJQ#1",
        "生成时间2026-07-0110:00",
    ):
        assert expected in text, expected
    assert "作废" not in text


def test_individual_receipt_names_the_donor_and_masks_the_id(factory, receipts, tmp_path):
    text = text_of(render(factory, "ZYS", receipts.individual), tmp_path)

    # Anonymity is about publication: the receipt itself carries the real name.
    assert "捐赠人张晓梅" in text
    assert "匿名公示" in text
    assert "身份证号码512***********1230" in text
    assert ID_NUMBER not in text
    assert "¥500.00" in text
    assert "伍佰元整" in text
    assert "捐赠项目（用途）非定向" in text
    assert "接受捐赠单位资阳市慈善总会儿童专项基金" in text
    assert "ZYS-2026-000001" in text


def test_federation_naming(factory, make_fund):
    make_fund("ZYS")
    make_fund("AYX", parent="ZYS")
    with factory() as s:
        city, county = find_fund(s, "ZYS"), find_fund(s, "AYX")
        assert charity_federation(city) == "资阳市慈善总会"
        assert charity_federation(county) == "测试基金AYX慈善会"
        assert receiving_unit(city) == "资阳市慈善总会儿童专项基金"


def test_cjk_fonts_are_embedded(factory, receipts, tmp_path):
    listing = poppler("pdffonts", render(factory, "YJQ", receipts.enterprise), tmp_path)
    rows = listing.splitlines()[2:]  # after the header and its rule
    cjk = [row for row in rows if "CJK" in row]
    assert cjk, listing
    # Columns: name type encoding emb sub uni object ID; the name has no spaces.
    assert all(row.split()[-5] == "yes" for row in rows), listing


def test_document_metadata(factory, receipts, tmp_path):
    info = poppler("pdfinfo", render(factory, "YJQ", receipts.enterprise), tmp_path,
                   "-isodates")
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    assert fields["Title"].strip() == "公益事业捐赠统一票据 YJQ-2026-000001"
    assert fields["CreationDate"].strip().startswith("2026-07-01T10:00:00+08")
    assert fields["Author"].strip() == "测试基金YJQ慈善会"
    assert fields["Pages"].strip() == "1"


def test_voided_receipt_and_its_replacement(factory, receipts, actor, tmp_path):
    with transaction(factory) as s:
        new = void_receipt(s, actor, "YJQ", receipts.enterprise, reason="捐赠人名称填写有误",
                           reissue=True)
        assert new is not None
        new_code = new.code

    voided = text_of(render(factory, "YJQ", receipts.enterprise), tmp_path)
    assert "作废" in voided
    assert "本票据已作废。作废原因：捐赠人名称填写有误" in voided
    assert "作废人：tester" in voided
    assert f"已重开票据：{new_code}" in voided

    replacement = text_of(render(factory, "YJQ", new_code), tmp_path)
    assert f"本票据替代已作废的票据{receipts.enterprise}" in replacement
    assert "本票据已作废" not in replacement
    assert "壹万贰仟叁佰肆拾伍元陆角柒分" in replacement
    assert "账簿记录YJQ#1" in replacement  # the same donation, the same ledger entry


def test_fetcher_serves_report_assets_and_small_data_urls():
    fetcher = AssetFetcher()
    css = fetcher.fetch((ASSETS / "receipt.css").as_uri())
    try:
        assert css.content_type == "text/css"
        assert b"@page" in css.read()
    finally:
        css.close()
    data = fetcher.fetch("data:text/plain;base64,5oWI5ZaE")
    try:
        assert data.read().decode() == "慈善"
    finally:
        data.close()
    assert fetcher.refused == []


@pytest.mark.parametrize("url", [
    "http://example.com/x.css",
    "https://example.com/font.woff2",
    "ftp://example.com/x.png",
    "file:///etc/passwd",
    (ASSETS / ".." / "pdf.py").as_uri(),  # climbing out of the assets folder
    (ASSETS.parent.parent / "instance" / "secrets.env").as_uri(),
    "file://intranet-host" + (ASSETS / "receipt.css").as_posix(),
    ASSETS.as_uri() + "/",  # the folder itself
    "data:text/plain;base64," + "QUFB" * (DATA_URL_LIMIT // 4),
    "javascript:alert(1)",
])
def test_fetcher_refuses_everything_else(url):
    fetcher = AssetFetcher()
    with pytest.raises(RefusedURL):
        fetcher.fetch(url)
    assert fetcher.refused == [url[:200]]


def test_render_leaves_refused_resources_out_and_touches_no_network(monkeypatch, tmp_path,
                                                                     caplog):
    connections: list[object] = []

    def no_network(*args: object, **kwargs: object) -> None:
        connections.append(args)
        raise OSError("network access in a PDF render")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    html = """<!DOCTYPE html><html lang="zh-CN"><head><title>拒绝测试</title>
      <link rel="stylesheet" href="http://example.com/x.css">
      <link rel="stylesheet" href="receipt.css">
      <style>@font-face { font-family: X; src: url(file:///etc/ssl/private/key.ttf) }</style>
      </head><body><p>外部资源一律拒绝</p>
      <img src="file:///etc/passwd"><img src="../pdf.py"></body></html>"""
    fetcher = AssetFetcher()
    with caplog.at_level(logging.WARNING, logger="reports.pdf"):
        pdf = render_pdf(html, base_url=assets_url(), fetcher=fetcher)

    assert pdf.startswith(b"%PDF-")
    assert "外部资源一律拒绝" in text_of(pdf, tmp_path)
    assert set(fetcher.refused) == {
        "http://example.com/x.css", "file:///etc/passwd", (ASSETS.parent / "pdf.py").as_uri(),
        "file:///etc/ssl/private/key.ttf"}
    assert connections == []
    assert sum("PDF resource refused" in r.getMessage() for r in caplog.records) == 4


def test_render_refuses_by_default(tmp_path, caplog):
    html = '<html><body><p>无外链</p><img src="http://example.com/logo.png"></body></html>'
    with caplog.at_level(logging.WARNING, logger="reports.pdf"):
        pdf = render_pdf(html, base_url=assets_url())
    assert "无外链" in text_of(pdf, tmp_path)
    assert any("http://example.com/logo.png" in r.getMessage() for r in caplog.records)
