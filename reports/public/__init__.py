"""What anyone may see without signing in (信息公开, DESIGN §5): the funds, their
money by purpose and by source, approved projects and their payments, donations,
published audit results and correction notices, the disclosure calendar, and the
same facts as open data (CSV and JSON) with a data dictionary.

Plain data only; no Flask. Everything is read from the books at each call, so a
page always equals the ledger. The one thing kept in memory is a fund page's
figures, under the funds' journal heads (``reports.public.money.fund_page``): a
posting changes the key, so what is kept can never differ from the books.

**Children.** Nothing here reads the ``beneficiaries`` table: a project shows how
many children it aids in each category (``beneficiary_counts``), never who they
are. Project payees are not published either (a payee may be a person); the
implementing unit is. Staff user names are not published; dates are.

**Figures.** Every money figure is ``reports.figures``' (``purpose_figures``,
``income_by_source``), the same functions the statements and the annual report
use, read from the per-day changes the ledger keeps (``reports.figures.year_books``).

One module per page family; callers use this package's names:

- ``funds``: the funds and the readings every page shares (``public_funds``, ``parse_year``);
- ``money``: the list of funds and a fund's page (``funds_overview``, ``fund_page``);
- ``projects``: public projects and their payments; ``donations``: donations by receipt;
- ``audits``: published audit results and correction notices;
- ``calendar``: the disclosure calendar and published annual reports;
- ``datasets``: the open datasets and their dictionary; ``writers``: their CSV and JSON;
- ``versions``: when a page may have changed (``public_version``).
"""

from reports.figures import PurposeFigures, years_of
from reports.public.audits import (
    SEVERITY_LABELS,
    PublicCorrection,
    audit_results,
    corrections,
)
from reports.public.calendar import (
    CALENDAR_STATES,
    CALENDAR_TITLES,
    CalendarItem,
    disclosure_calendar,
    published_annual_report,
)
from reports.public.datasets import OPEN_DATA, TYPES, WITHDRAWN, Column, Row, dataset
from reports.public.donations import ANONYMOUS, PublicDonation, public_donations, public_name
from reports.public.funds import LEVELS, FundRef, PublicFund, parse_year, public_funds
from reports.public.money import (
    SOURCES,
    CountyFigures,
    FundOverview,
    FundPage,
    IncomeYear,
    fund_page,
    funds_overview,
    income_by_year,
)
from reports.public.paging import PER_PAGE, Page
from reports.public.projects import (
    PUBLIC_STATES,
    STATE_KEYS,
    PublicPayment,
    PublicProject,
    public_payments,
    public_projects,
)
from reports.public.versions import public_version
from reports.public.writers import columns, to_csv, to_json

__all__ = [
    "ANONYMOUS",
    "CALENDAR_STATES",
    "CALENDAR_TITLES",
    "LEVELS",
    "OPEN_DATA",
    "PER_PAGE",
    "PUBLIC_STATES",
    "SEVERITY_LABELS",
    "SOURCES",
    "STATE_KEYS",
    "TYPES",
    "WITHDRAWN",
    "CalendarItem",
    "Column",
    "CountyFigures",
    "FundOverview",
    "FundPage",
    "FundRef",
    "IncomeYear",
    "Page",
    "PublicCorrection",
    "PublicDonation",
    "PublicFund",
    "PublicPayment",
    "PublicProject",
    "PurposeFigures",
    "Row",
    "audit_results",
    "columns",
    "corrections",
    "dataset",
    "disclosure_calendar",
    "fund_page",
    "funds_overview",
    "income_by_year",
    "parse_year",
    "public_donations",
    "public_funds",
    "public_name",
    "public_payments",
    "public_projects",
    "public_version",
    "published_annual_report",
    "to_csv",
    "to_json",
    "years_of",
]
