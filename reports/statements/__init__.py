"""The auditor's downloadable statements and registers, each a ``Table``.

All read-only. The money figures come from ``reports.figures`` (``fund_figures`` and
``movements``), the same figures the annual report and the public pages use, so no two
reports can disagree; registers that list documents (receipts, projects, bank lines)
say in their notes whether their totals agree with the ledger's figures.

No report here names an aided child or shows an ID number: projects are listed with
their beneficiary counts only, and audit records are summarised from a short list of
harmless fields, never from their full before/after content.

One module per statement; callers use this package's names:

- ``fund``: 收支情况表 (``fund_statement``); ``activity``: 业务活动表 (``activity_statement``);
- ``registers``: 项目登记簿, 捐赠登记簿, 捐赠票据登记簿 (``grant_register``,
  ``donation_register``, ``receipt_register``);
- ``reconciliation``: 银行存款余额调节表 (``reconciliation_report``);
- ``audit_log``: 审计日志摘录 (``audit_extract``);
- ``export``: the Beancount ledgers (``beancount_zip``).

Where a report's figures came from (the books' heads) is ``reports.tables.provenance``.
"""

from reports.statements.activity import activity_statement
from reports.statements.audit_log import audit_extract, summarize
from reports.statements.export import beancount_zip
from reports.statements.fund import flow_difference, fund_statement
from reports.statements.reconciliation import reconciliation_report
from reports.statements.registers import donation_register, grant_register, receipt_register

__all__ = [
    "activity_statement",
    "audit_extract",
    "beancount_zip",
    "donation_register",
    "flow_difference",
    "fund_statement",
    "grant_register",
    "receipt_register",
    "reconciliation_report",
    "summarize",
]
