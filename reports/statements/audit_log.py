"""审计日志摘录: the audit records of a period that belong to some funds, each with a
short summary of harmless fields (never names, ID numbers or free text), the result of
checking every audit chain, and the heads of the funds' chains the extract was cut at."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.chain import ChainHead, ChainReport, chain_label, head, verify_chain
from audit.models import AuditRecord
from core import clock
from core.actors import ROLE_LABELS
from core.i18n import gettext, locale_as
from core.money import ZERO
from ledger.models import Fund
from reports import auditlog
from reports.figures import Period
from reports.statements.parts import cst_date, subtitle
from reports.tables import Column, Table

COLUMNS = (
    Column("id", "序号", "int"),
    Column("at", "时间"),
    Column("actor", "操作人"),
    Column("role", "角色"),
    Column("action", "操作"),
    Column("subject", "对象"),
    Column("fund", "基金"),
    Column("reason", "理由"),
    Column("summary", "摘要"),
)
ACTION_ZH = {
    "fund.add": "开立基金", "fund.top-up-rule": "设定年度补充规则", "fund.policy": "设定审批规则",
    "donor.add": "登记捐赠人", "receipt.issue": "开具捐赠票据", "receipt.void": "作废捐赠票据",
    "allocation.propose": "提出分配方案", "allocation.confirm": "确认分配方案",
    "allocation.withdraw": "撤回分配方案",
    "bank.import": "导入银行对账单", "bank.match": "匹配银行流水", "bank.book": "银行流水入账",
    "bank.reconcile": "银行对账", "bank.override": "未调节准予结账",
    "ledger.close-period": "期末结账",
    "beneficiary.add": "登记受益儿童", "beneficiary.view-id": "查看受益儿童身份证号码",
    "attachment.add": "上传附件",
    "user.add": "添加用户", "user.login": "登录", "user.logout": "退出", "user.locked": "账户锁定",
    "user.password": "修改密码", "user.activate": "启用用户", "user.deactivate": "停用用户",
    "user.related-party": "申报关联方",
    "ledger.seed": "记账：财政启动资金", "ledger.top-up": "记账：财政年度补充资金",
    "ledger.donation": "记账：捐赠", "ledger.allocation": "记账：分配",
    "ledger.commitment": "记账：项目批准", "ledger.disbursement": "记账：项目拨付",
    "ledger.release": "记账：释放承诺", "ledger.unspent-return": "记账：结余退回",
    "ledger.interest": "记账：利息", "ledger.bank-fee": "记账：手续费",
    "ledger.reversal": "记账：冲销",
}
PROJECT_ACTION_ZH = {
    "create": "起草", "edit": "修改", "submit": "提交", "return": "退回修改", "reject": "不予资助",
    "check": "审核", "approve_first": "第一审批人批准", "approve": "批准",
    "request_tranche": "申请拨付", "approve_tranche": "批准拨付", "pay_tranche": "拨付",
    "file_report": "提交报告", "accept_report": "验收报告", "return_report": "退回报告",
    "return_unspent": "结余退回", "close": "结项", "cancel": "终止",
}
SUMMARY_FIELDS = {
    "state": "状态", "type": "类型", "date": "日期", "amount": "金额", "period": "期间",
    "tranche": "批次", "report": "报告", "entry": "记账", "reconciled": "相符",
    "bank": "银行余额", "ledger": "账面余额", "difference": "差额", "replaces": "替代",
    "lines": "行数", "matched": "已匹配", "unmatched": "未匹配", "category": "类别",
    "kind": "类型", "publish": "公示", "project": "项目", "first_date": "起",
    "last_date": "止",
}
SUMMARY_LIMIT = 160
SUBJECT_ZH = {"fund": "基金", "journal_entry": "分录", "receipt": "票据", "project": "项目",
              "bank_statement": "对账单", "bank_line": "银行流水", "allocation": "分配方案",
              "donor": "捐赠人", "beneficiary": "受益儿童记录", "user": "用户"}


def _action_zh(action: str) -> str:
    if action.startswith("project."):
        return "项目" + PROJECT_ACTION_ZH.get(action.removeprefix("project."), action)
    return ACTION_ZH.get(action, action)


def _loads(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def summarize(record: AuditRecord) -> str:
    """A short summary of a record's change from a few harmless fields: never names,
    ID numbers or free text, whatever the record holds."""
    before, after = _loads(record.before), _loads(record.after)
    parts = []
    if record.subject_type == "journal_entry" and isinstance(after.get("postings"), list):
        debits = ZERO
        for posting in after["postings"]:
            try:
                amount = Decimal(str(posting[1]))
            except (ArithmeticError, IndexError, TypeError, ValueError):
                continue
            debits += max(amount, ZERO)
        parts.append(f"金额 {debits:.2f}")
    for key, label in SUMMARY_FIELDS.items():
        if key in after:
            if key in before and before[key] != after[key]:
                parts.append(f"{label} {_short(before[key])}→{_short(after[key])}")
            else:
                parts.append(f"{label} {_short(after[key])}")
        elif key in before:
            parts.append(f"{label} {_short(before[key])}→")
    text = "；".join(parts)
    return text if len(text) <= SUMMARY_LIMIT else text[:SUMMARY_LIMIT - 1] + "…"



@dataclass(frozen=True)
class _Cut:
    """The period's records of these funds, cut at the largest id when the extract
    starts: records appended while it is made are in neither the list nor the count
    (on PostgreSQL ids come from a sequence, so a transaction that took its id before
    the cut and commits during the extract may still show; the heads printed are
    those read before the cut)."""

    chains: list[ChainHead]  # the heads of the chains of these funds (and of no fund)
    records: list[tuple[AuditRecord, str | None]]  # with the fund each belongs to
    total: int  # the period's records of every fund, and of none
    unattributed: bool  # the extract includes the records that belong to no fund


def _cut(session: Session, funds: list[Fund], period: Period) -> _Cut:
    scope = auditlog.scope_of(session, funds)
    # ISO text with the +08:00 offset: a range a day wider on each side, then the exact day.
    low = (period.start - dt.timedelta(days=1)).isoformat()
    high = (period.end + dt.timedelta(days=2)).isoformat()
    near = (AuditRecord.at >= low, AuditRecord.at < high)

    def in_period(at: str) -> bool:
        return period.start <= cst_date(dt.datetime.fromisoformat(at)) <= period.end

    chains = [head(session, f.code) for f in funds]
    if scope.unattributed:
        chains.append(head(session, ""))
    last_id = session.execute(select(func.coalesce(func.max(AuditRecord.id), 0))).scalar_one()
    owner = auditlog.record_fund()
    records = [(record, fund) for record, fund in session.execute(
        select(AuditRecord, owner).where(*near, AuditRecord.id <= last_id, scope.clause(owner))
        .order_by(AuditRecord.id)) if in_period(record.at)]
    total = sum(1 for at in session.execute(select(AuditRecord.at).where(
        *near, AuditRecord.id <= last_id)).scalars() if in_period(at))
    return _Cut(chains, records, total, scope.unattributed)


def _record_row(record: AuditRecord, fund: str | None, roles: dict[str, str]) -> dict[str, Any]:
    moment = dt.datetime.fromisoformat(record.at).astimezone(clock.CST)
    return {
        "id": record.id,
        "at": moment.strftime("%Y-%m-%d %H:%M:%S"),
        "actor": record.actor,
        "role": roles.get(record.role, record.role),
        "action": _action_zh(record.action),
        "subject": f"{SUBJECT_ZH.get(record.subject_type, record.subject_type)} "
                   f"{record.subject_id}",
        "fund": fund or "—",
        "reason": record.reason,
        "summary": summarize(record),
    }


def _chain_head(chain: ChainHead) -> str:
    return f"{chain_label(chain.chain)} 第 {chain.seq} 条（哈希 {chain.hash}）"


def _notes(cut: _Cut, chain: ChainReport, funds: list[Fund], listed: int) -> list[str]:
    """The chains' verdict, then what the extract covers and leaves out."""
    if chain.ok:
        verdict = (f"审计日志链校验完整：{len(chain.heads)} 条链共 {chain.checked} 条记录"
                   "逐条重算哈希，全部相符；"
                   + "；".join(f"{chain_label(h.chain)} 链至第 {h.seq} 条，链头哈希 {h.hash}"
                              for h in chain.heads if h.chain in {c.chain for c in cut.chains})
                   + "。")
    else:
        broken = chain.head(chain.broken_chain or "")
        verdict = (f"审计日志链校验不通过：{chain_label(chain.broken_chain or '')} 链"
                   f"第 {chain.broken_at} 条断链（{chain.problem}）；此前 {chain.checked} 条完整，"
                   f"该链最后一个完好的哈希为 {broken.hash}。")
    notes = [verdict]
    left_out = cut.total - listed
    covered = "、".join(f"{f.code} {f.name_zh}" for f in funds) or "无"
    notes += [
        "本摘录截至审计链 " + "、".join(_chain_head(c) for c in cut.chains)
        + f"，只列基金 {covered} 的记录"
        + ("及不属于任何基金的记录" if cut.unattributed else "")
        + "。每个基金的审计记录自成一条链（不属于任何基金的记录另成一条），各链互不等待；"
          "序号为全系统统一编号，不连续之处是其他链的记录；"
          "逐条核对哈希须对各链进行（specialfund audit verify）。",
        f"本期审计日志 {cut.total} 条，本摘录列出与所列基金有关的 {listed} 条"
        + (f"（另 {left_out} 条属其他基金或无法归属，未列出）" if left_out else "") + "。",
        "摘要只列状态、金额、日期等字段，不列修改前后记录的全文，不列姓名和身份证号码；"
        "全文可在系统中按序号查阅。",
    ]
    return notes


def audit_extract(session: Session, funds: list[Fund], period: Period) -> Table:
    """审计日志摘录: the audit records of the period that belong to these funds (when the
    funds are all the system keeps, also those that belong to no fund), each with a short
    summary, the result of checking every chain, and the heads of the chains the
    extract was cut at. A record's fund is the one it names; a record written before funds were
    recorded is attributed by its subject (``reports.auditlog``)."""
    cut = _cut(session, funds, period)
    with locale_as("zh_CN"):
        roles = {role: gettext(label) for role, label in ROLE_LABELS.items()}
        roles["console"] = "系统控制台"
        rows = [_record_row(record, fund, roles) for record, fund in cut.records]
        chain = verify_chain(session)
    return Table("审计日志摘录", list(COLUMNS), rows, subtitle=subtitle(funds, period),
                 notes=_notes(cut, chain, funds, len(rows)), slug="audit-extract")
