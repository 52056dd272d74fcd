"""What the API accepts and answers, as pydantic models: they validate requests and are
the OpenAPI document's schemas. Amounts travel as strings ("1234.56"), never as
floating point; the domain parses and checks them as it does for the pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from annotated_types import GroupedMetadata
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from core.errors import InvalidInput
from core.money import format_plain, parse_amount
from core.reading import DB_INT_MAX, read_date, read_int
from grants.states import STEPS, State
from reports.public import OPEN_DATA

Amount = Annotated[
    Decimal, PlainSerializer(format_plain, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$",
                    "examples": ["1234.56"]})]


# Requests are read by the same strict reader as the pages and the console: a refusal
# names the field (never echoing the value) and lists as type "invalid_amount" etc.
def _refused(kind: str, error: InvalidInput) -> PydanticCustomError:
    return PydanticCustomError(f"invalid_{kind}", error.message)


def _amount(value: str, info: ValidationInfo) -> str:
    try:  # what was spent may be nothing; every other amount is more than zero
        parse_amount(value, allow_zero=info.field_name == "spent_amount",
                     field=info.field_name or "amount")
    except InvalidInput as error:
        raise _refused("amount", error) from None
    return value


def _day(value: object, info: ValidationInfo) -> dt.date:
    try:  # a text YYYY-MM-DD: no datetime, no timestamp
        return read_date(value if isinstance(value, str) else None, info.field_name or "date")
    except InvalidInput as error:
        raise _refused("date", error) from None


@dataclass(frozen=True)
class WholeNumber(GroupedMetadata):
    """``Annotated[int, WholeNumber(1, 100)]``: a whole number, a JSON integer or digits in
    a query string; no 1.0, 1e3, 1_000."""

    minimum: int
    maximum: int = DB_INT_MAX

    def __iter__(self) -> Iterator[object]:
        yield BeforeValidator(self._read)
        yield Field(ge=self.minimum, le=self.maximum)

    def _read(self, value: object, info: ValidationInfo) -> int:
        try:
            return read_int(value if isinstance(value, int | str) else None,
                            info.field_name or "number", minimum=self.minimum,
                            maximum=self.maximum)
        except InvalidInput as error:
            raise _refused("integer", error) from None


AMOUNT_PATTERN = (r"^[¥￥]?([0-9０-９]{1,3}([,，][0-9０-９]{3})+|[0-9０-９]+)"
                  r"([.．][0-9０-９]{1,2})?$")
AmountIn = Annotated[str, AfterValidator(_amount),
                     WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN,
                                     "examples": ["150000.00"]})]
Day = Annotated[dt.date, BeforeValidator(_day)]
if TYPE_CHECKING:  # names taken from the domain's tables: to the checker, text
    StateName = str
    StepName = str
    Dataset = str
else:
    StateName = Literal[tuple(s.value for s in State)]
    StepName = Literal[tuple(STEPS)]
    Dataset = Literal[tuple(OPEN_DATA)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Page = Annotated[int, WholeNumber(1, 100_000)]
Year = Annotated[int, WholeNumber(2000, 2100)]
Count = Annotated[int, WholeNumber(0, 1_000_000)]
Id = Annotated[int, WholeNumber(1)]
Seq = Annotated[int, WholeNumber(1, 100)]
PerPage = Annotated[int, WholeNumber(1, 100)]
LongPage = Annotated[int, WholeNumber(1, 200)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- funds --------------------------------------------------------------------------------


class FundOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    level: Literal["city", "county"]
    parent: str | None
    opened_on: dt.date


class FundList(BaseModel):
    items: list[FundOut]


class BalancesQuery(Query):
    as_of: Day | None = Field(None, description="Balances at the end of this day; "
                                                    "today when left out")


class PurposeBalance(BaseModel):
    purpose: str
    name_zh: str
    name_en: str
    in_bank: Amount
    committed: Amount
    available: Amount
    spent: Amount
    paid: Amount


class FundBalances(BaseModel):
    fund: str
    as_of: dt.date
    purposes: list[PurposeBalance]


# --- projects -----------------------------------------------------------------------------


class ProjectQuery(Query):
    fund: Annotated[str, Field(max_length=20)] | None = None
    purpose: Annotated[str, Field(max_length=20)] | None = None
    state: StateName | None = None
    year: Year | None = None
    q: Annotated[str, Field(max_length=100)] | None = None
    page: Page = 1
    per_page: PerPage = 20


class BudgetItemIn(In):
    item: Text
    amount: AmountIn


class TrancheIn(In):
    planned_date: Day
    amount: AmountIn
    condition: Literal["none", "progress_report"] = "none"


class CountsIn(In):
    left_behind: Count = 0
    in_difficulty: Count = 0
    orphan: Count = 0
    disabled: Count = 0
    other: Count = 0


class ProjectIn(In):
    """A project as civil affairs drafts it, in their own fund."""

    title: Text
    purpose: Annotated[str, Field(min_length=1, max_length=20, examples=["Education"])]
    implementing_unit: Text
    payee: Text
    requested_amount: AmountIn
    summary: Annotated[str, Field(max_length=5000)] = ""
    budget: Annotated[list[BudgetItemIn], Field(max_length=50)] = []
    counts: CountsIn = CountsIn()
    tranches: Annotated[list[TrancheIn], Field(min_length=1, max_length=20)]
    progress_report_due: Day | None = None
    final_report_due: Day


class ProjectUpdate(ProjectIn):
    version: Annotated[Id, Field(description="The version read; a changed project is "
                                             "refused with 409")]


class TransitionIn(In):
    """What a step needs; each step reads only its own fields (see docs/api.md)."""

    reason: Annotated[str, Field(max_length=2000)] | None = None
    comment: Annotated[str, Field(max_length=2000)] | None = None
    amount: AmountIn | None = None
    no_conflict: bool = False
    seq: Seq | None = None
    bank_ref: Annotated[str, Field(max_length=80)] | None = None
    paid_on: Day | None = None
    report_id: Id | None = None
    body: Annotated[str, Field(max_length=20000)] | None = None
    spent_amount: AmountIn | None = None


class TrancheOut(BaseModel):
    seq: int
    amount: Amount
    planned_date: dt.date
    condition: str
    state: str
    paid_on: dt.date | None
    bank_ref: str | None
    ledger_ref: str | None


class ReportOut(BaseModel):
    id: int
    kind: str
    due_date: dt.date
    state: str
    filed_on: dt.date | None
    spent_amount: Amount | None


class TimelineOut(BaseModel):
    action: str
    from_state: str
    to_state: str
    actor: str
    role: str
    at: dt.datetime
    reason: str | None
    ledger_ref: str | None


class BudgetItemOut(BaseModel):
    item: str
    amount: Amount


class ProjectSummary(BaseModel):
    id: int
    ref: str
    fund: str
    year: int
    title: str
    purpose: str
    state: str
    requested_amount: Amount
    approved_amount: Amount | None
    updated_at: dt.datetime


class ProjectOut(ProjectSummary):
    implementing_unit: str
    payee: str
    summary: str
    version: int
    counts: dict[str, int]
    budget: list[BudgetItemOut]
    tranches: list[TrancheOut]
    reports: list[ReportOut]
    timeline: list[TimelineOut]
    steps: list[str] = Field(description="The steps this token's user may take now")


class ProjectList(BaseModel):
    items: list[ProjectSummary]
    page: int
    pages: int
    total: int


class TrancheList(BaseModel):
    project: str
    items: list[TrancheOut]


# --- income -------------------------------------------------------------------------------


class DonorIn(In):
    kind: Literal["enterprise", "individual"]
    name: Text
    credit_code: Annotated[str, Field(max_length=18)] | None = None
    id_number: Annotated[str, Field(max_length=18)] | None = None
    publish: Literal["name", "anonymous"] = "name"


class DonorOut(BaseModel):
    id: int
    kind: str
    name: str
    credit_code: str | None
    id_number: str | None = Field(description="Masked: 510***********1234")
    publish: str


class DonationIn(In):
    donor_id: Annotated[Id, Field(examples=[1])]
    date: Day
    amount: AmountIn
    purpose: Annotated[str, Field(max_length=20)] | None = Field(
        None, description="Left out: undirected (the general pool)")


class ReceiptOut(BaseModel):
    code: str
    year: int
    number: int
    donor_id: int
    amount: Amount
    purpose: str | None
    donated_on: dt.date
    state: str
    entry: str = Field(description="The ledger entry, fund#number")


class ReceiptList(BaseModel):
    items: list[ReceiptOut]


class YearQuery(Query):
    year: Year | None = None


class StatementQuery(Query):
    filename: Annotated[str, Field(min_length=1, max_length=120)] = "statement.csv"


class StatementImport(BaseModel):
    statement_id: int
    lines: int
    skipped: int = Field(description="Lines already imported from another file")
    matched: int
    unmatched: int
    in_closed_period: list[int] = Field(
        [], description="Line numbers of new lines dated in a closed period: kept, but "
                        "nothing can be booked on their dates")


class StatementOut(BaseModel):
    id: int
    filename: str
    sha256: str
    first_date: dt.date
    last_date: dt.date
    lines: int
    imported_at: dt.datetime
    imported_by: str


class StatementList(BaseModel):
    items: list[StatementOut]


# --- records ------------------------------------------------------------------------------


class PageQuery(Query):
    page: Page = 1
    per_page: LongPage = 50


class EntriesQuery(PageQuery):
    date_from: Day | None = None
    date_to: Day | None = None


class PostingOut(BaseModel):
    account: str
    amount: Amount


class EntryOut(BaseModel):
    seq: int
    date: dt.date
    type: str
    narration: str
    links: list[str]
    reverses: int | None = Field(description="The number of the entry this one reverses")
    postings: list[PostingOut]


class EntryList(BaseModel):
    fund: str
    items: list[EntryOut]
    page: int
    has_next: bool




class AuditRecordOut(BaseModel):
    id: int
    at: str
    actor: str
    role: str
    action: str
    subject_type: str
    subject_id: str
    before: Any
    after: Any
    reason: str | None
    fund: str | None
    # The chain the record is in (its fund's code, "" for none) and its position there,
    # which its hash covers as "id"; for records written before chains were per fund,
    # chain "" at position id.
    chain: str
    position: int
    prev_hash: str
    hash: str


class AuditList(BaseModel):
    items: list[AuditRecordOut]
    page: int
    has_next: bool


class OpenDataQuery(Query):
    fund: Annotated[str, Field(max_length=20)] | None = None
    year: Year | None = None


class OpenData(BaseModel):
    dataset: str
    description: str
    description_zh: str
    filters: dict[str, Any]
    columns: list[dict[str, str]]
    rows: list[dict[str, Any]]
