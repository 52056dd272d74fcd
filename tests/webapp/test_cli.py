"""The `specialfund` console command, as an operator uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.webapp.conftest import text as page_text
from tests.worlds import PASSWORD

PEOPLE = {"fin1": ("finance", "YJQ"), "fin2": ("finance", "YJQ"),
          "co": ("charity_office", "YJQ"), "city_fin": ("finance", "ZYS")}


@pytest.fixture
def fund(run):
    """The city and 雁江区, and a few users, set up from the console while nobody
    administers them yet."""
    assert run("init")[0] == 0
    assert run("fund", "add", "zys", "--name-zh", "资阳市本级", "--name-en", "Ziyang City",
               "--opened-on", "2025-01-01")[0] == 0
    status, out, err = run("fund", "add", "YJQ", "--name-zh", "雁江区", "--name-en", "Yanjiang",
                           "--parent", "ZYS", "--opened-on", "2025-01-01")
    assert status == 0, err
    assert "25 accounts" in out
    for name, (role, code) in PEOPLE.items():
        status, _, err = run("user", "add", name, "--role", role, "--fund", code,
                             "--password-stdin", stdin=PASSWORD + "\n")
        assert status == 0, err
    return "YJQ"


def entries(engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT e.seq, e.type FROM journal_entries e ORDER BY e.id"))]


def audit_actors(engine, action: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT actor, role FROM audit_log WHERE action = :a ORDER BY id"), {"a": action})]


def test_post_every_event_and_read_balances(run_as, fund, engine):
    steps = [
        ("fin1", "seed", "--amount", "100000", "--date", "2025-01-05", "--doc-no",
         "资财〔2025〕1号"),
        ("fin1", "top-up", "--amount", "20000.50", "--date", "2025-02-05", "--doc-no",
         "资财〔2025〕7号"),
        ("co", "donation", "--amount", "3000", "--date", "2025-02-06", "--donor", "某公司",
         "--donor-type", "enterprise", "--purpose", "助学"),
        ("co", "interest", "--amount", "12.34", "--date", "2025-03-21"),
        ("co", "bank-fee", "--amount", "5", "--date", "2025-03-25"),
    ]
    for seq, (user, *step) in enumerate(steps, start=1):
        status, out, err = run_as(user, "ledger", "post", step[0], "--fund", fund, *step[1:])
        assert status == 0, err
        # A donation answers with its receipt; every other event with its entry.
        expected = "YJQ-2025-000001" if step[0] == "donation" else f"YJQ #{seq}"
        assert expected in out
    status, out, err = run_as("co", "ledger", "post", "reversal", "--fund", fund, "--entry", "5",
                              "--date", "2025-03-26", "--reason", "手续费退回")
    assert status == 0 and "#6" in out, err
    status, out, err = run_as("fin1", "allocation", "propose", "--fund", fund, "--amount",
                              "medical=10000")
    assert status == 0, err
    status, out, err = run_as("fin2", "allocation", "confirm", "--fund", fund, "1")
    assert status == 0, err
    assert entries(engine)[-1] == (7, "allocation")
    assert audit_actors(engine, "ledger.seed") == [("fin1", "finance")]
    assert audit_actors(engine, "ledger.interest") == [("co", "charity_office")]
    assert audit_actors(engine, "allocation.confirm") == [("fin2", "finance")]

    status, out, _ = run_as("fin1", "ledger", "balances", "--fund", fund)
    assert status == 0
    assert "Assets:Fund:Medical" in out and "¥10,000.00" in out
    assert "¥110,012.84" in out  # general: 100000 + 20000.50 - 10000 + 12.34
    status, out, _ = run_as("fin1", "ledger", "balances", "--fund", fund, "--as-of", "2025-01-31")
    assert "¥100,000.00" in out and "¥110,012.84" not in out


def test_errors_are_one_line_and_change_nothing(run_as, fund):
    run_as("fin1", "ledger", "post", "seed", "--fund", fund, "--amount", "100", "--date",
           "2025-01-05", "--doc-no", "D1")
    for amount in ("-1", "0", "NaN", "inf", "abc", "1.001", "99999999999"):
        status, out, err = run_as("co", "ledger", "post", "interest", "--fund", fund,
                                  "--amount", amount, "--date", "2025-01-06")
        assert status != 0
        assert out == "" and err.count("\n") == 1 and err.startswith("Error: "), err
    status, _, err = run_as("fin1", "allocation", "propose", "--fund", fund, "--amount",
                            "education=500")
    assert status == 1 and err.count("\n") == 1
    assert "¥500.00" in err and "¥100.00" in err
    status, _, err = run_as("co", "ledger", "post", "interest", "--fund", fund, "--amount", "1",
                            "--date", "2025-13-01")
    assert status == 1 and "not a date" in err
    status, _, err = run_as("co", "ledger", "post", "interest", "--fund", fund)
    assert status == 2 and err.count("\n") == 1 and "--amount" in err
    status, out, _ = run_as("co", "fund", "list")
    assert "1" in out.splitlines()[-1]  # YJQ still has one entry


def test_locked_period_is_refused_with_the_way_out(run_as, fund):
    run_as("fin1", "ledger", "post", "seed", "--fund", fund, "--amount", "100", "--date",
           "2025-01-05", "--doc-no", "D1")
    status, _, err = run_as("fin1", "ledger", "close-period", "--fund", fund, "--period",
                            "2025-01")
    assert status == 1 and "2025-01" in err  # no bank statement: not reconciled
    status, _, err = run_as("fin1", "ledger", "close-period", "--fund", fund, "--period",
                            "2025-01", "--unreconciled-reason", "无银行流水")
    assert status == 0, err
    status, _, err = run_as("co", "ledger", "post", "interest", "--fund", fund, "--amount", "1",
                            "--date", "2025-01-20")
    assert status == 1 and "closed period" in err and "2025-01-31" in err


def test_errors_speak_chinese_by_default(run_as, fund, monkeypatch):
    monkeypatch.setenv("SPECIALFUND_LANG", "zh_CN")
    status, _, err = run_as("co", "ledger", "post", "interest", "--fund", "NOPE", "--amount",
                            "1")
    assert status == 1
    assert err.startswith("错误：") and "NOPE" in err


# --- who the console acts as --------------------------------------------------------------


def test_a_role_step_without_a_proven_user_is_refused_and_changes_nothing(run, fund, engine,
                                                                          tmp_path):
    statement = tmp_path / "statement.csv"
    statement.write_text("x\n")
    for command in (
        ["ledger", "post", "seed", "--fund", fund, "--amount", "100", "--doc-no", "D1"],
        ["ledger", "post", "donation", "--fund", fund, "--amount", "100", "--donor", "甲",
         "--donor-type", "individual"],
        ["ledger", "post", "interest", "--fund", fund, "--amount", "1"],
        ["ledger", "post", "bank-fee", "--fund", fund, "--amount", "1"],
        ["ledger", "post", "reversal", "--fund", fund, "--entry", "1", "--reason", "x"],
        ["ledger", "close-period", "--fund", fund, "--period", "2025-01",
         "--unreconciled-reason", "x"],
        ["donor", "add", "--fund", fund, "--kind", "enterprise", "--name", "某公司"],
        ["receipt", "void", "--fund", fund, "YJQ-2025-000001", "--reason", "x"],
        ["donation-return", "--fund", fund, "YJQ-2025-000001", "--reason", "x"],
        ["top-up", "rule", "--fund", fund, "--fixed", "1000"],
        ["allocation", "propose", "--fund", fund, "--amount", "education=1"],
        ["allocation", "confirm", "--fund", fund, "1"],
        ["reconcile", "--fund", fund, "--period", "2025-01"],
        ["bank", "import", "--fund", fund, str(statement)],
        ["bank", "match", "--fund", fund, "--line", "1", "--entry", "1"],
        ["bank", "book", "--fund", fund, "--line", "1", "--as", "fee"],
        ["token", "revoke", "1"],
    ):
        status, out, err = run(*command)
        assert (status, out) == (1, ""), (command, err)
        assert "reserved to a role" in err and "--user" in err, (command, err)
    assert entries(engine) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM donors")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM top_up_rules")).scalar() == 0


def test_a_name_alone_proves_nobody(run, run_as, fund, engine, monkeypatch):
    monkeypatch.setenv("SPECIALFUND_ACTOR", "fin1")  # a label, not a person
    status, _, err = run("ledger", "post", "seed", "--fund", fund, "--amount", "100",
                         "--doc-no", "D1")
    assert status == 1 and "reserved to a role" in err
    status, _, err = run_as("fin1", "ledger", "post", "seed", "--fund", fund, "--amount", "100",
                            "--doc-no", "D1", password="not-the-password-1")
    assert status == 1 and "Wrong user name or password" in err
    status, _, err = run_as("nobody", "ledger", "post", "seed", "--fund", fund, "--amount",
                            "100", "--doc-no", "D1")
    assert status == 1 and "Wrong user name or password" in err
    assert entries(engine) == []
    with engine.connect() as conn:  # the failure counts towards the lockout
        assert conn.execute(text("SELECT failed_logins FROM users WHERE username = 'fin1'")
                            ).scalar() == 1
    status, _, err = run("--user", "fin1", "ledger", "post", "seed", "--fund", fund,
                         "--amount", "100", "--doc-no", "D1", stdin="")
    assert status == 1 and "Wrong user name or password" in err


def test_the_wrong_role_or_fund_is_refused_with_the_pages_message(run_as, fund, engine, app,
                                                                  login, monkeypatch):
    # The page first: a console command closes every pooled connection when it ends.
    page = login("city_fin").post("/funds/YJQ/treasury", data={
        "kind": "seed", "date": "2025-01-05", "amount": "100", "doc_no": "D1"})
    assert page.status_code == 403
    monkeypatch.setenv("SPECIALFUND_LANG", "zh_CN")
    seed = ["ledger", "post", "seed", "--fund", fund, "--amount", "100", "--doc-no", "D1"]
    status, _, wrong_role = run_as("co", *seed)
    assert status == 1
    status, _, wrong_fund = run_as("city_fin", *seed)
    assert status == 1
    message = wrong_fund.removeprefix("错误：").strip()
    assert message == wrong_role.removeprefix("错误：").strip()
    assert message in page_text(page) and "雁江区" in message
    status, _, err = run_as("city_fin", "ledger", "post", "seed", "--fund", "NOPE",
                            "--amount", "100", "--doc-no", "D1")
    assert status == 1 and "NOPE" in err
    assert entries(engine) == []


def test_an_allocation_needs_two_proven_people(run, run_as, fund, engine, monkeypatch):
    run_as("fin1", "ledger", "post", "seed", "--fund", fund, "--amount", "1000", "--date",
           "2025-01-05", "--doc-no", "D1")
    status, _, err = run_as("fin1", "allocation", "propose", "--fund", fund, "--amount",
                            "education=600")
    assert status == 0, err
    status, _, err = run_as("fin1", "allocation", "confirm", "--fund", fund, "1")
    assert status == 1 and "nobody confirms their own proposal" in err
    # The same person through another door is still the same person.
    status, token, err = run("token", "create", "fin1", "--name", "nightly",
                             stdin=PASSWORD + "\n")
    assert status == 0, err
    monkeypatch.setenv("SPECIALFUND_TOKEN", token.strip())
    status, _, err = run("allocation", "confirm", "--fund", fund, "1")
    assert status == 1 and "nobody confirms their own proposal" in err
    monkeypatch.delenv("SPECIALFUND_TOKEN")
    assert entries(engine) == [(1, "seed")]
    status, _, err = run_as("fin2", "allocation", "confirm", "--fund", fund, "1")
    assert status == 0, err
    assert entries(engine) == [(1, "seed"), (2, "allocation")]
    assert audit_actors(engine, "allocation.propose") == [("fin1", "finance")]
    assert audit_actors(engine, "allocation.confirm") == [("fin2", "finance")]


def test_ledger_post_allocation_cannot_post_alone(run_as, fund, engine):
    run_as("fin1", "ledger", "post", "seed", "--fund", fund, "--amount", "1000", "--date",
           "2025-01-05", "--doc-no", "D1")
    status, out, err = run_as("fin1", "ledger", "post", "allocation", "--fund", fund,
                              "--amount", "500", "--date", "2025-01-06", "--purpose", "education")
    assert (status, out) == (2, "") and err.count("\n") == 1
    assert "two finance users" in err and "allocation propose" in err
    assert entries(engine) == [(1, "seed")]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM allocation_proposals")).scalar() == 0


@pytest.mark.parametrize("event", ["commitment", "disbursement", "release", "unspent-return"])
def test_project_money_cannot_be_posted_around_the_workflow(run_as, fund, engine, event):
    run_as("fin1", "ledger", "post", "seed", "--fund", fund, "--amount", "1000", "--date",
           "2025-01-05", "--doc-no", "D1")
    for user in ("fin1", "co"):
        status, out, err = run_as(user, "ledger", "post", event, "--fund", fund, "--amount",
                                  "100", "--grant", "YJQ-1", "--purpose", "education",
                                  "--bank-ref", "B1", "--reason", "x")
        assert (status, out) == (2, "") and err.count("\n") == 1
        assert "only through the project's own steps" in err
    assert entries(engine) == [(1, "seed")]
    status, out, _ = run_as("fin1", "ledger", "post", "--help")
    assert status == 0 and event not in out and "allocation" not in out and "seed" in out


def test_reversals_are_taken_by_the_role_that_posts_the_entry(run_as, fund, engine):
    run_as("fin1", "ledger", "post", "seed", "--fund", fund, "--amount", "1000", "--date",
           "2025-01-05", "--doc-no", "D1")
    run_as("co", "ledger", "post", "donation", "--fund", fund, "--amount", "50", "--date",
           "2025-01-06", "--donor", "甲", "--donor-type", "individual")
    reverse = ["ledger", "post", "reversal", "--fund", fund, "--reason", "录入错误",
               "--date", "2025-01-07", "--entry"]
    status, _, err = run_as("co", *reverse, "1")
    assert status == 1 and "right role" in err
    status, _, err = run_as("fin1", *reverse, "2")
    assert status == 1 and "donation-return" in err
    status, out, err = run_as("fin1", *reverse, "1")
    assert status == 0 and "#3" in out, err
    assert entries(engine) == [(1, "seed"), (2, "donation"), (3, "reversal")]


def test_a_token_proves_the_console_user(run, fund, engine, monkeypatch):
    status, token, err = run("token", "create", "fin1", "--name", "cron",
                             stdin=PASSWORD + "\n")
    assert status == 0, err
    monkeypatch.setenv("SPECIALFUND_TOKEN", token.strip())
    seed = ["ledger", "post", "seed", "--fund", fund, "--amount", "100", "--date",
            "2025-01-05", "--doc-no", "D1"]
    status, out, err = run(*seed)
    assert status == 0 and "YJQ #1" in out, err
    assert audit_actors(engine, "ledger.seed") == [("fin1", "finance")]
    status, _, err = run("--user", "fin2", *seed, stdin=PASSWORD + "\n")
    assert status == 2 and "not both" in err
    status, _, err = run("token", "create", "fin1", "--name", "another")
    assert status == 1 and "own password" in err
    monkeypatch.setenv("SPECIALFUND_TOKEN", token.strip()[:-1])
    status, _, err = run(*seed)
    assert status == 1 and "SPECIALFUND_TOKEN" in err
    assert entries(engine) == [(1, "seed")]


def test_commands_that_read_standard_input_read_after_the_password(run_as, fund, engine):
    status, _, err = run_as("co", "donor", "add", "--fund", fund, "--kind", "individual",
                            "--name", "李四", "--id-number-stdin", stdin="110101199003074514\n")
    assert status == 0, err
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id_number_ct FROM donors")).scalar() is not None
    assert audit_actors(engine, "donor.add") == [("co", "charity_office")]


def test_setting_up_is_the_consoles_only_until_an_administrator_exists(run, run_as, fund,
                                                                       engine):
    status, _, err = run("user", "add", "zys_admin", "--role", "admin", "--fund", "ZYS",
                         "--password-stdin", stdin=PASSWORD + "\n")
    assert status == 0, err  # the city's first administrator
    status, _, err = run("user", "add", "ca", "--role", "civil_affairs", "--fund", "YJQ",
                         "--password-stdin", stdin=PASSWORD + "\n")
    assert status == 1 and "has an administrator" in err and "--user" in err
    status, _, err = run("fund", "add", "AYX", "--name-zh", "安岳县", "--name-en", "Anyue",
                         "--parent", "ZYS")
    assert status == 1 and "has an administrator" in err
    status, _, err = run_as("fin1", "user", "add", "ca", "--role", "civil_affairs", "--fund",
                            "YJQ", "--password-stdin", stdin=PASSWORD + "\n")
    assert status == 1 and "Only administrators" in err

    status, _, err = run_as("zys_admin", "user", "add", "ca", "--role", "civil_affairs",
                            "--fund", "YJQ", "--password-stdin", stdin="ca-password-1\n")
    assert status == 0, err  # the administrator's password first, the new user's second
    assert audit_actors(engine, "user.add")[-1] == ("zys_admin", "admin")
    status, _, err = run_as("ca", "fund", "list", password="ca-password-1")
    assert status == 0, err
    status, _, err = run_as("zys_admin", "fund", "add", "AYX", "--name-zh", "安岳县",
                            "--name-en", "Anyue", "--parent", "ZYS")
    assert status == 0, err
    status, _, err = run_as("zys_admin", "fund", "add", "NJ", "--name-zh", "内江市",
                            "--name-en", "Neijiang")
    assert status == 1 and "city administrator" in err
    # A new city has nobody over it yet: the console opens it and adds its administrator.
    status, _, err = run("fund", "add", "NJ", "--name-zh", "内江市", "--name-en", "Neijiang")
    assert status == 0, err
    status, _, err = run_as("zys_admin", "user", "add", "nj_fin", "--role", "finance",
                            "--fund", "NJ", "--password-stdin", stdin=PASSWORD + "\n")
    assert status == 1 and "funds they manage" in err


def test_export_writes_a_file_bean_check_accepts(run, run_as, fund, tmp_path):
    run_as("fin1", "ledger", "post", "seed", "--fund", fund, "--amount", "100", "--date",
           "2025-01-05", "--doc-no", "D1")
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
            "JOIN jurisdictions j ON j.id = e.fund_id WHERE j.code = 'AYX' AND e.seq = 3)"))
        conn.execute(text("UPDATE audit_log SET actor = 'intruder' "
                          "WHERE chain = 'YJQ' AND seq = 42"))
    status, out, _ = run("ledger", "verify")
    assert status == 1
    assert "FAILED AYX" in out and "#3" in out and out.count("OK ") == 5
    status, out, _ = run("audit", "verify")
    assert status == 1 and "Audit chain YJQ BROKEN at record #42: audit record YJQ #42 (" in out


def test_a_database_failure_is_one_line_that_quotes_no_sql(run, run_as, fund, engine,
                                                          monkeypatch):
    with engine.begin() as conn:  # the database refuses every new entry, naming its values
        conn.execute(text("CREATE TABLE guard_keys (k VARCHAR(40) PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE commit_guard (k VARCHAR(40) REFERENCES guard_keys (k) "
                          "DEFERRABLE INITIALLY DEFERRED)"))
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER guard AFTER INSERT ON journal_entries "
                              "BEGIN INSERT INTO commit_guard VALUES (NEW.narration); END"))
        else:
            conn.execute(text("CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN INSERT INTO commit_guard VALUES (NEW.narration); "
                              "RETURN NEW; END $$"))
            conn.execute(text("CREATE TRIGGER guard AFTER INSERT ON journal_entries "
                              "FOR EACH ROW EXECUTE FUNCTION guard()"))
    status, out, err = run_as("fin1", "ledger", "post", "seed", "--fund", fund, "--amount",
                              "100", "--date", "2025-01-05", "--doc-no", "资财〔2025〕99号",
                              "--narration", "张小明的种子资金")
    assert status == 1 and err.startswith("Error: the database failed (IntegrityError)")
    assert len(err.strip().splitlines()) == 1
    assert "张小明" not in out + err and "INSERT" not in err and "commit_guard" not in err
    assert run("ledger", "balances", "--fund", fund)[1].count("¥100.00") == 0
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/gone")
    status, _out, err = run("ledger", "balances", "--fund", fund)
    assert status == 1 and err.startswith("Error: the database failed (OperationalError)")


@pytest.mark.tampers
def test_both_verify_commands_report_the_cross_checks(run, run_as, fund, engine, tmp_path):
    for who, step in (("fin1", ("seed", "--amount", "100", "--date", "2025-01-05", "--doc-no",
                                "D1")),
                      ("co", ("interest", "--amount", "1", "--date", "2025-02-03"))):
        assert run_as(who, "ledger", "post", step[0], "--fund", fund, *step[1:])[0] == 0
    status, _, err = run_as("fin1", "ledger", "close-period", "--fund", fund, "--period", "2025-01",
                         "--unreconciled-reason", "没有对账单")
    assert status == 0, err
    export = tmp_path / "yjq.beancount"
    assert run("ledger", "export", "--fund", fund, "-o", str(export))[0] == 0
    status, out, _ = run("ledger", "verify", "--fund", fund, "--against", str(export))
    assert (status, out) == (0, "OK YJQ: 2 entries; Beancount and SQL agree; receipts, "
                                "projects, the audit log and the closed periods' heads match "
                                "the journal.\n")
    with engine.connect() as conn:
        chains = conn.execute(text("SELECT chain, last_seq, last_hash FROM audit_chain_heads "
                                   "ORDER BY chain")).all()
    assert [(chain, seq) for chain, seq, _ in chains] == [("YJQ", 8), ("ZYS", 2)]
    intact = [f"Audit chain {chain or '(no fund)'} intact: {seq} records, head {head}."
              for chain, seq, head in chains]
    status, out, _ = run("audit", "verify")
    assert status == 0
    assert out.splitlines() == [
        *intact,
        "OK ZYS: the audit log and the journal name each other; the closed periods' heads "
        "are in place.",
        "OK YJQ: the audit log and the journal name each other; the closed periods' heads "
        "are in place."]

    # The newest audit record of YJQ (the close's seal) removed, its chain's head rewound.
    with engine.begin() as conn:
        sealed, digest = conn.execute(text(
            "SELECT audit_id, audit_hash FROM period_closes")).one()
        seq = conn.execute(text("SELECT seq FROM audit_log WHERE id = :i"),
                           {"i": sealed}).scalar_one()
        previous_id, previous = conn.execute(text(
            "SELECT id, hash FROM audit_log WHERE chain = 'YJQ' AND seq = :s"),
            {"s": seq - 1}).one()
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": sealed})
        conn.execute(text("UPDATE audit_chain_heads SET last_seq = :s, last_id = :i, "
                          "last_hash = :h WHERE chain = 'YJQ'"),
                     {"s": seq - 1, "i": previous_id, "h": previous})
    lost = ["  - period 2025-01 of fund YJQ is closed, but the audit log has no record of "
            "its close",
            f"  - period 2025-01 was sealed by audit record #{sealed} (hash {digest[:16]}), "
            "which is no longer in the audit log"]
    rewound = [f"Audit chain YJQ intact: {seq - 1} records, head {previous}."
               if line.startswith("Audit chain YJQ ") else line for line in intact]
    status, out, _ = run("audit", "verify")
    assert status == 1
    assert out.splitlines() == [
        *rewound,
        "OK ZYS: the audit log and the journal name each other; the closed periods' heads "
        "are in place.",
        "FAILED YJQ: 2 problems", *lost]
    status, out, _ = run("ledger", "verify", "--fund", fund)
    assert status == 1
    assert out.splitlines() == ["FAILED YJQ: 2 problems", *lost]


def test_a_command_closes_its_own_connections_and_no_one_elses(run, fund, app):
    """A command run in a process that already serves an app (a test, a shell) closes only
    the connections of the app it built itself: the other app's pool stays as it was, to
    be closed by whoever made it, not left behind for the garbage collector."""
    engine = app.extensions["specialfund.db"][0]
    assert app.test_client().get("/public/").status_code == 200
    pool = engine.pool
    code, out, _err = run("fund", "list")
    assert code == 0 and "YJQ" in out
    assert engine.pool is pool and pool.checkedin() == 1
