"""The printed 公益事业捐赠票据 of a donation, issued in the charity federation's name.

The receipt always carries the donor's real name: anonymity is a choice about
publication, not about the donor's own receipt. An individual's ID number is
shown only in its masked form; the encrypted number is never read here.
"""

from __future__ import annotations

import datetime as dt

import jinja2
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.money import chinese_capital, format_cny
from ledger.chart import load_chart
from ledger.income_models import Receipt
from ledger.models import Fund, JournalEntry
from reports.pdf import ASSETS, assets_url, render_pdf

TITLE = "公益事业捐赠统一票据"
CITY_FEDERATION = "资阳市慈善总会"

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(ASSETS),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def charity_federation(fund: Fund) -> str:
    """The charity federation that keeps the fund: the city's, or the county's own."""
    return CITY_FEDERATION if fund.level == "city" else f"{fund.name_zh}慈善会"


def receiving_unit(fund: Fund) -> str:
    """接受捐赠单位: the federation and the special fund it keeps (the federation's name
    already says whose: 资阳市慈善总会, 雁江区慈善会)."""
    return f"{charity_federation(fund)}儿童专项基金"


def _date_zh(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _moment(value: dt.datetime) -> str:
    return value.astimezone(clock.CST).strftime("%Y-%m-%d %H:%M")


def receipt_html(session: Session, receipt: Receipt) -> str:
    """The receipt as HTML, for the PDF (and for a preview)."""
    fund, donor = receipt.fund, receipt.donor
    entry = session.get(JournalEntry, receipt.entry_id)
    replaces = session.get(Receipt, receipt.replaces_id) if receipt.replaces_id else None
    replaced_by = session.execute(
        select(Receipt.code).where(Receipt.replaces_id == receipt.id)).scalar_one_or_none()
    if donor.kind == "enterprise":
        id_label, id_value = "统一社会信用代码", donor.credit_code
    else:
        id_label, id_value = "身份证号码", donor.id_masked
    remarks = []
    if replaces is not None:
        remarks.append(f"本票据替代已作废的票据 {replaces.code}。")
    if donor.publish == "anonymous":
        remarks.append("捐赠人选择匿名公示；本票据载明捐赠人实名。")
    return _templates.get_template("receipt.html").render(
        title=TITLE,
        r=receipt,
        donor=donor,
        federation=charity_federation(fund),
        unit=receiving_unit(fund),
        id_label=id_label,
        id_value=id_value or "—",
        purpose=load_chart(fund.chart).purpose(receipt.purpose).zh if receipt.purpose
        else "非定向",
        figures=format_cny(receipt.amount),
        capital=chinese_capital(receipt.amount),
        issued_on=_date_zh(receipt.issued_at.astimezone(clock.CST).date()),
        donated_on=_date_zh(receipt.donated_on),
        remarks=remarks,
        voided=receipt.state == "voided",
        voided_at=_moment(receipt.voided_at) if receipt.voided_at else "—",
        replaced_by=replaced_by,
        entry_ref=f"{fund.code}#{entry.seq}" if entry is not None else fund.code,
        generated_at=_moment(clock.now()),
    )


def receipt_pdf(session: Session, receipt: Receipt) -> bytes:
    """The receipt as a one-page PDF."""
    return render_pdf(receipt_html(session, receipt), base_url=assets_url(),
                      title=f"{TITLE} {receipt.code}")
