"""Done when (income and custody): a year of a fund's income recorded, receipts printed,
twelve statements imported and twelve reconciled months closed -- from the console, each
step by a proven user of its role -- and `ledger verify` passes afterwards."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from tests.worlds import PASSWORD

HEADER = "交易日期,摘要,对方户名,收入金额,支出金额,余额,流水号\n"


@pytest.mark.slow
def test_a_year_of_income_from_the_console(run, run_as, tmp_path):
    assert run("init")[0] == 0
    assert run("fund", "add", "ZYS", "--name-zh", "资阳市本级", "--name-en", "Ziyang",
               "--opened-on", "2025-01-01")[0] == 0
    for name, role in (("fin", "finance"), ("office", "charity_office")):
        assert run("user", "add", name, "--role", role, "--fund", "ZYS", "--password-stdin",
                   stdin=PASSWORD + "\n")[0] == 0
    balance = 0
    for month in range(1, 13):
        day = dt.date(2025, month, 10)
        lines = []
        if month == 1:
            assert run_as("fin", "ledger", "post", "seed", "--fund", "ZYS", "--amount",
                          "500000", "--date", "2025-01-05", "--doc-no", "资财〔2025〕1号")[0] == 0
            balance += 500000
            lines.append(f"2025-01-05,财政启动资金,资阳市财政局,500000.00,,{balance:.2f},CZ0105")
        status, out, err = run_as("office", "ledger", "post", "donation", "--fund", "ZYS",
                                  "--amount", f"{1000 + month}", "--date", day.isoformat(),
                                  "--donor", "资阳众诚建设有限公司", "--donor-type",
                                  "enterprise", "--purpose", "education")
        assert status == 0, err
        balance += 1000 + month
        lines.append(f"{day},捐赠,资阳众诚建设有限公司,{1000 + month:.2f},,{balance:.2f},"
                     f"JZ{month:02d}")
        fee_day = dt.date(2025, month, 25)
        assert run_as("office", "ledger", "post", "bank-fee", "--fund", "ZYS", "--amount", "5",
                      "--date", fee_day.isoformat(), "--bank-ref", f"SXF{month:02d}")[0] == 0
        balance -= 5
        lines.append(f"{fee_day},手续费,,,5.00,{balance:.2f},SXF{month:02d}")
        statement = tmp_path / f"2025-{month:02d}.csv"
        encoding = "gbk" if month % 2 else "utf-8"
        statement.write_bytes((HEADER + "\n".join(lines) + "\n").encode(encoding))
        status, out, err = run_as("office", "bank", "import", "--fund", "ZYS", str(statement))
        assert status == 0, err
        status, out, err = run_as("office", "reconcile", "--fund", "ZYS", "--period",
                                  f"2025-{month:02d}")
        assert status == 0, out + err
        status, out, err = run_as("fin", "ledger", "close-period", "--fund", "ZYS", "--period",
                                  f"2025-{month:02d}")
        assert status == 0, err
    status, out, _ = run("receipt", "list", "--fund", "ZYS", "--year", "2025")
    assert out.count("ZYS-2025-0000") == 12
    pdf = tmp_path / "receipt.pdf"
    assert run("receipt", "pdf", "--fund", "ZYS", "ZYS-2025-000012", "-o", str(pdf))[0] == 0
    printed = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                             check=True).stdout
    assert "ZYS-2025-000012" in printed and "壹仟零壹拾贰元整" in printed
    status, out, _ = run("ledger", "verify", "--fund", "ZYS")
    assert status == 0 and "OK ZYS" in out
    status, out, _ = run("fund", "list")
    assert "2025-12-31" in out
