"""The `specialfund` console command, as an operator uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import text


@pytest.fixture
def fund(run):
    assert run("init")[0] == 0
    assert run("fund", "add", "zys", "--name-zh", "资阳市本级", "--name-en", "Ziyang City",
               "--opened-on", "2025-01-01")[0] == 0
    status, out, err = run("fund", "add", "YJQ", "--name-zh", "雁江区", "--name-en", "Yanjiang",
                           "--parent", "ZYS", "--opened-on", "2025-01-01")
    assert status == 0, err
    assert "25 accounts" in out
    return "YJQ"


def test_post_every_event_and_read_balances(run, fund):
    steps = [
        ("seed", "--amount", "100000", "--date", "2025-01-05", "--doc-no", "资财〔2025〕1号"),
        ("top-up", "--amount", "20000.50", "--date", "2025-02-05", "--doc-no", "资财〔2025〕7号"),
        ("donation", "--amount", "3000", "--date", "2025-02-06", "--donor", "某公司",
         "--donor-type", "enterprise", "--purpose", "助学"),
        ("allocation", "--amount", "10000", "--date", "2025-02-07", "--purpose", "medical"),
        ("commitment", "--amount", "8000", "--date", "2025-02-08", "--grant", "YJQ-1",
         "--purpose", "medical"),
        ("disbursement", "--amount", "5000", "--date", "2025-02-09", "--grant", "YJQ-1",
         "--bank-ref", "ZF1"),
        ("release", "--amount", "3000", "--date", "2025-02-10", "--grant", "YJQ-1",
         "--reason", "项目结束"),
        ("unspent-return", "--amount", "100", "--date", "2025-02-11", "--grant", "YJQ-1",
         "--bank-ref", "TH1"),
        ("interest", "--amount", "12.34", "--date", "2025-03-21"),
        ("bank-fee", "--amount", "5", "--date", "2025-03-25"),
    ]
    for seq, step in enumerate(steps, start=1):
        status, out, err = run("ledger", "post", step[0], "--fund", fund, *step[1:])
        assert status == 0, err
        assert f"YJQ #{seq}" in out or (step[0] == "donation" and "YJQ-2025-000001" in out)
    status, out, _ = run("ledger", "post", "reversal", "--fund", fund, "--entry", "10",
                         "--date", "2025-03-26", "--reason", "手续费退回")
    assert status == 0 and "#11" in out

    status, out, _ = run("ledger", "balances", "--fund", fund)
    assert status == 0
    assert "Assets:Fund:Medical" in out and "¥5,100.00" in out
    assert "¥110,012.84" in out  # general: 100000 + 20000.50 - 10000 + 12.34
    status, out, _ = run("ledger", "balances", "--fund", fund, "--as-of", "2025-01-31")
    assert "¥100,000.00" in out and "¥110,012.84" not in out


def test_errors_are_one_line_and_change_nothing(run, fund):
    run("ledger", "post", "seed", "--fund", fund, "--amount", "100", "--date", "2025-01-05",
        "--doc-no", "D1")
    for amount in ("-1", "0", "NaN", "inf", "abc", "1.001", "99999999999"):
        status, out, err = run("ledger", "post", "interest", "--fund", fund, "--amount", amount,
                               "--date", "2025-01-06")
        assert status != 0
        assert out == "" and err.count("\n") == 1 and err.startswith("Error: "), err
    status, _, err = run("ledger", "post", "allocation", "--fund", fund, "--amount", "500",
                         "--date", "2025-01-06", "--purpose", "education")
    assert status == 1 and err.count("\n") == 1
    assert "Assets:Fund:General" in err and "¥100.00" in err
    status, _, err = run("ledger", "post", "interest", "--fund", fund, "--amount", "1",
                         "--date", "2025-13-01")
    assert status == 1 and "not a date" in err
    status, _, err = run("ledger", "post", "interest", "--fund", fund)
    assert status == 2 and err.count("\n") == 1 and "--amount" in err
    status, out, _ = run("fund", "list")
    assert "1" in out.splitlines()[-1]  # YJQ still has one entry


def test_locked_period_is_refused_with_the_way_out(run, fund):
    run("ledger", "post", "seed", "--fund", fund, "--amount", "100", "--date", "2025-01-05",
        "--doc-no", "D1")
    status, _, err = run("ledger", "close-period", "--fund", fund, "--period", "2025-01")
    assert status == 1 and "2025-01" in err  # no bank statement: not reconciled
    status, _, err = run("ledger", "close-period", "--fund", fund, "--period", "2025-01",
                         "--unreconciled-reason", "无银行流水")
    assert status == 0, err
    status, _, err = run("ledger", "post", "interest", "--fund", fund, "--amount", "1",
                         "--date", "2025-01-20")
    assert status == 1 and "closed period" in err and "2025-01-31" in err


def test_errors_speak_chinese_by_default(run, fund, monkeypatch):
    monkeypatch.setenv("SPECIALFUND_LANG", "zh_CN")
    status, _, err = run("ledger", "post", "interest", "--fund", "NOPE", "--amount", "1")
    assert status == 1
    assert err.startswith("错误：") and "NOPE" in err


def test_export_writes_a_file_bean_check_accepts(run, fund, tmp_path):
    run("ledger", "post", "seed", "--fund", fund, "--amount", "100", "--date", "2025-01-05",
        "--doc-no", "D1")
    target = tmp_path / "yjq.beancount"
    status, _, err = run("ledger", "export", "--fund", fund, "-o", str(target))
    assert status == 0, err
    from beancount import loader

    _entries, errors, _ = loader.load_file(str(target))
    assert not errors
    status, out, _ = run("ledger", "export", "--fund", fund, "-o", "-")
    assert 'plugin "ledger.plugins.fund_rules"' in out


@pytest.mark.slow
@pytest.mark.tampers
def test_demo_verifies_and_a_direct_sql_edit_is_named(run, engine):
    assert run("init")[0] == 0
    status, out, err = run("demo", "--years", "1")
    assert status == 0, err
    status, out, _ = run("ledger", "verify")
    assert status == 0 and out.count("OK ") == 6
    status, out, _ = run("audit", "verify")
    assert status == 0 and "intact" in out
    status, out, _ = run("fund", "list")
    assert "2026-06-30" in out  # months of this year are closed up to last month

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER postings_append_only ON postings"))
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER postings_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text(
            "UPDATE postings SET amount = amount + 100 WHERE id = ("
            "SELECT MIN(p.id) FROM postings p JOIN journal_entries e ON e.id = p.entry_id "
            "JOIN funds f ON f.id = e.fund_id WHERE f.code = 'AYX' AND e.seq = 3)"))
        conn.execute(text("UPDATE audit_log SET actor = 'intruder' WHERE id = 42"))
    status, out, _ = run("ledger", "verify")
    assert status == 1
    assert "FAILED AYX" in out and "#3" in out and out.count("OK ") == 5
    status, out, _ = run("audit", "verify")
    assert status == 1 and "#42" in out


@pytest.mark.tampers
def test_both_verify_commands_report_the_cross_checks(run, fund, engine, tmp_path):
    for step in (("seed", "--amount", "100", "--date", "2025-01-05", "--doc-no", "D1"),
                 ("interest", "--amount", "1", "--date", "2025-02-03")):
        assert run("ledger", "post", step[0], "--fund", fund, *step[1:])[0] == 0
    status, _, err = run("ledger", "close-period", "--fund", fund, "--period", "2025-01",
                         "--unreconciled-reason", "没有对账单")
    assert status == 0, err
    export = tmp_path / "yjq.beancount"
    assert run("ledger", "export", "--fund", fund, "-o", str(export))[0] == 0
    status, out, _ = run("ledger", "verify", "--fund", fund, "--against", str(export))
    assert (status, out) == (0, "OK YJQ: 2 entries; Beancount and SQL agree; receipts, "
                                "projects, the audit log and the closed periods' heads match "
                                "the journal.\n")
    status, out, _ = run("audit", "verify")
    assert status == 0
    assert out.splitlines()[1:] == [
        "OK ZYS: the audit log and the journal name each other; the closed periods' heads "
        "are in place.",
        "OK YJQ: the audit log and the journal name each other; the closed periods' heads "
        "are in place."]

    # The newest audit record (the close's seal) removed, the chain's head rewound.
    with engine.begin() as conn:
        sealed, digest = conn.execute(text(
            "SELECT audit_id, audit_hash FROM period_closes")).one()
        previous = conn.execute(text("SELECT hash FROM audit_log WHERE id = :i"),
                                {"i": sealed - 1}).scalar_one()
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": sealed})
        conn.execute(text("UPDATE audit_head SET last_id = :i, last_hash = :h"),
                     {"i": sealed - 1, "h": previous})
    lost = ["  - period 2025-01 of fund YJQ is closed, but the audit log has no record of "
            "its close",
            f"  - period 2025-01 was sealed by audit record #{sealed} (hash {digest[:16]}), "
            "which is no longer in the audit log"]
    status, out, _ = run("audit", "verify")
    assert status == 1
    assert out.splitlines() == [
        f"Audit chain intact: {sealed - 1} records, head {previous}.",
        "OK ZYS: the audit log and the journal name each other; the closed periods' heads "
        "are in place.",
        "FAILED YJQ: 2 problems", *lost]
    status, out, _ = run("ledger", "verify", "--fund", fund)
    assert status == 1
    assert out.splitlines() == ["FAILED YJQ: 2 problems", *lost]
