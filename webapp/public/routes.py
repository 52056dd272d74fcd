"""Public disclosure pages and open data (DESIGN §5). No sign-in, no forms that
write; every figure is read from the books, and a rendered page is kept only until
anything changes (``page_cache``).

The views only arrange ``reports.public``: that module decides what is public
(approved projects only, counts of children and never who they are, the donor's
public name) and this one decides how it looks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from markupsafe import Markup

from core import clock
from core.errors import NotFound
from core.i18n import gettext
from reports import public
from reports.charts import bar_chart, hbar_chart
from webapp.extensions import db
from webapp.i18n import CATEGORY_LABELS
from webapp.public.page_cache import UNREAD, PageCache, Rendered
from webapp.published import published_path
from webapp.reading import MAX_PAGE, query_int
from webapp.responses import public_version_now
from webapp.site_key import printed

bp = Blueprint("public", __name__, url_prefix="/public")


def _page(name: str) -> int:
    return query_int(name, 1, maximum=MAX_PAGE) or 1


def _svg(svg: str) -> Markup:
    """A chart from ``reports.charts``, which escapes every text it draws."""
    return Markup(svg)  # noqa: S704 - built from escaped text only


def _cache() -> PageCache:
    cache = current_app.extensions.get("public_page_cache")
    if cache is None:
        cache = PageCache(int(current_app.config["PUBLIC_PAGE_CACHE"]))
        current_app.extensions["public_page_cache"] = cache
    return cache


def _page_of(key: tuple[Hashable, ...], render: Callable[[], Rendered]) -> str:
    """A page whose content is kept until what it shows changes (``page_cache``); the
    surrounding layout, which carries the visitor's own language form, is not kept."""
    # The version as webapp.responses read it for the page's ETag, in this session.
    title, body = _cache().get((*key, str(get_locale()), clock.today()), render,
                               read_version=lambda: public_version_now()[0],
                               version=g.get("public_version", UNREAD))
    return render_template("public/page.html", title=title, body=Markup(body))  # noqa: S704


@bp.route("/")
def index():
    def render() -> Rendered:
        today = clock.today()
        funds = public.funds_overview(db.session, today)
        chart = hbar_chart(
            gettext("Money of each fund today"), [str(f.fund.name) for f in funds],
            [(gettext("Available"), [f.available for f in funds]),
             (gettext("Committed, unpaid"), [f.committed for f in funds])],
            chart_id="chart-funds", inline=True)
        return gettext("All funds"), render_template(
            "public/index_body.html", funds=funds, today=today, chart=_svg(chart),
            levels=public.LEVELS)

    return _page_of(("index",), render)


def _fund_charts(page: public.FundPage) -> dict[str, Markup]:
    sources = page.sources
    charts = {
        "income": bar_chart(
            gettext("Income by source and year"), [str(i.year) for i in page.income],
            [(str(label), [i.amounts[key] for i in page.income]) for key, label in sources],
            chart_id="chart-income", inline=True),
        "spending": hbar_chart(
            gettext("Paid out to projects by purpose, {year}", year=page.year),
            [str(p.label) for p in page.purposes if p.key != "General"],
            [(gettext("Paid out"), [p.paid for p in page.purposes if p.key != "General"])],
            chart_id="chart-spending", inline=True),
    }
    if page.counties:
        charts["counties"] = hbar_chart(
            gettext("Income and payments by fund, {year}", year=page.year),
            [str(c.fund.name) for c in page.counties],
            [(gettext("Income"), [c.income for c in page.counties]),
             (gettext("Paid out"), [c.paid for c in page.counties])],
            chart_id="chart-counties", inline=True)
    return {name: _svg(svg) for name, svg in charts.items()}


def _page_urls(code: str, year: int, pages: dict[str, int]) -> dict[str, str]:
    """Previous and next links of each list, keeping the year and the other list's page."""
    urls = {}
    for name in pages:
        for step, label in ((-1, "prev"), (1, "next")):
            args: dict[str, Any] = {f"{n}_page": p + step if n == name else p
                                    for n, p in pages.items()}
            urls[f"{name}_{label}"] = url_for(
                "public.fund", code=code, year=year, _anchor=name,
                **{key: value for key, value in args.items() if value > 1})
    return urls


@bp.route("/funds/<code>")
def fund(code: str):
    year = public.parse_year(request.args.get("year"))
    numbers = {"projects": _page("projects_page"), "donations": _page("donations_page")}

    def render() -> Rendered:
        today = clock.today()
        page = public.fund_page(db.session, code, year or today.year, today)
        fund = page.fund
        projects = public.public_projects(db.session, fund, page.year,
                                          page=numbers["projects"])
        donations = public.public_donations(db.session, fund, page.year,
                                            page=numbers["donations"])
        body = render_template(
            "public/fund_body.html", page=page, fund=fund, year=page.year, today=today,
            levels=public.LEVELS, projects=projects, donations=donations,
            page_urls=_page_urls(fund.code, page.year, numbers), datasets=public.OPEN_DATA,
            data_base=url_for("public.data_index", lang=None),
            audits=public.audit_results(db.session, fund),
            corrections=public.corrections(db.session, fund),
            calendar=public.disclosure_calendar(db.session, fund, today),
            charts=_fund_charts(page), categories=CATEGORY_LABELS,
            severity_labels=public.SEVERITY_LABELS, calendar_states=public.CALENDAR_STATES)
        return f"{fund.name} {page.year}", body

    return _page_of(("fund", code.upper(), year, numbers["projects"], numbers["donations"]),
                    render)


@bp.route("/funds/<code>/annual/<int:year>.pdf")
def annual_pdf(code: str, year: int):
    """A published annual report, byte for byte as it was published (its hash is
    checked); a report not yet published is not found."""
    report = public.published_annual_report(db.session, code, year)
    path = published_path(report)
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != report.pdf_sha256:
        raise NotFound("The published annual report {year} of {fund} is not on file.",
                       year=year, fund=report.fund.code)
    return send_file(path, mimetype="application/pdf", max_age=0,
                     download_name=f"annual-{report.fund.code}-{year}.pdf")


@bp.context_processor
def site_key() -> dict[str, Any]:
    """Every public page prints the fingerprint of the key that signs its static copies."""
    return {"site_key": printed()}


@bp.route("/verify")
def verify():
    """How anyone checks a copy of this site (``specialfund publish-static``)."""
    return render_template("public/verify.html")


@bp.route("/data/")
def data_index():
    return render_template("public/data.html", datasets=public.OPEN_DATA, types=public.TYPES,
                           funds=public.public_funds(db.session))


def _rows(name: str) -> tuple[list[public.Row], str | None, int | None]:
    fund, year = request.args.get("fund") or None, public.parse_year(request.args.get("year"))
    return public.dataset(db.session, name, clock.today(), fund_code=fund, year=year), fund, year


@bp.route("/data/<name>.csv")
def data_csv(name: str):
    rows, _fund, _year = _rows(name)
    return Response(public.to_csv(name, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.route("/data/<name>.json")
def data_json(name: str):
    rows, fund, year = _rows(name)
    return Response(public.to_json(name, rows, fund_code=fund, year=year),
                    mimetype="application/json")
