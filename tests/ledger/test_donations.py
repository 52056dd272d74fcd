"""Donors, donations and the receipt register; top-up rules; two-person allocations."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from core.actors import Actor
from core.db import make_engine, make_session_factory, transaction
from core.errors import Conflict, InvalidInput, PermissionDenied, RuleViolation
from core.protection import Protector, generate_keys
from ledger import allocations, donations, treasury
from ledger.balances import balance, balances
from ledger.income_models import Receipt
from ledger.journal import find_entry, find_fund
from webapp.demo import synthetic_id

D = Decimal
OFFICE = Actor("office", "charity_office")
FIN1 = Actor("fin1", "finance")


@pytest.fixture
def fund(make_fund, post):
    code = make_fund("YJQ")
    post("seed", code, date=dt.date(2025, 1, 5), amount="100000", doc_no="资财〔2025〕1号")
    return code


@pytest.fixture
def donor(factory, fund):
    with transaction(factory) as s:
        return donations.add_donor(s, OFFICE, fund, kind="enterprise", name="资阳众诚建设有限公司",
                                   credit_code="91350100M000100Y43").id


def give(factory, fund, donor_id, amount="1000", day=dt.date(2025, 3, 1), purpose=None):
    with transaction(factory) as s:
        receipt = donations.record_donation(s, OFFICE, fund, donor_id=donor_id, date=day,
                                            amount=amount, purpose=purpose)
        return receipt.code


def test_every_donation_takes_the_next_receipt_number(session, factory, fund, donor):
    codes = [give(factory, fund, donor, day=dt.date(2025, 3, n)) for n in (1, 2, 3)]
    assert codes == ["YJQ-2025-000001", "YJQ-2025-000002", "YJQ-2025-000003"]
    assert give(factory, fund, donor, day=dt.date(2026, 1, 2)) == "YJQ-2026-000001"
    f = find_fund(session, fund)
    receipt = donations.find_receipt(session, f, codes[1])
    entry = session.get(type(find_entry(session, f, 1)), receipt.entry_id)
    assert entry.meta["receipt"] == codes[1] and entry.meta["donor"] == "资阳众诚建设有限公司"


def test_receipt_numbers_have_no_gaps_under_concurrent_donations(database_url, factory, fund,
                                                                  donor):
    per_worker, workers = 8, 3
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def worker() -> None:
        engine = make_engine(database_url)
        try:
            own = make_session_factory(engine)
            start.wait()
            for _ in range(per_worker):
                with transaction(own) as s:
                    donations.record_donation(s, OFFICE, fund, donor_id=donor,
                                              date=dt.date(2025, 5, 1), amount="10")
        except BaseException as error:
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with factory() as s:
        numbers = sorted(s.execute(select(Receipt.number).where(Receipt.year == 2025)).scalars())
    assert numbers == list(range(1, per_worker * workers + 1))


def test_a_voided_receipt_stays_with_its_reason_and_its_replacement(session, factory, fund,
                                                                   donor):
    code = give(factory, fund, donor)
    with transaction(factory) as s:
        replacement = donations.void_receipt(s, OFFICE, fund, code, reason="抬头打错",
                                             reissue=True)
        new_code = replacement.code
    with pytest.raises(Conflict), transaction(factory) as s:
        donations.void_receipt(s, OFFICE, fund, code, reason="again")
    rows = {r.code: r for r in donations.register(session, find_fund(session, fund))}
    assert rows[code].state == "voided" and rows[code].void_reason == "抬头打错"
    assert rows[new_code].replaces_id == rows[code].id
    assert rows[new_code].entry_id == rows[code].entry_id
    with pytest.raises(InvalidInput), transaction(factory) as s:
        donations.void_receipt(s, OFFICE, fund, new_code, reason="  ")


def test_a_returned_donation_is_reversed_and_its_receipt_voided(session, factory, fund, donor):
    code = give(factory, fund, donor, amount="2500", purpose="education")
    with transaction(factory) as s:
        donations.return_donation(s, OFFICE, fund, code, date=dt.date(2025, 3, 5),
                                  reason="捐赠人要求退回")
    f = find_fund(session, fund)
    assert balance(session, f, "Assets:Fund:Education") == D("0.00")
    receipt = donations.find_receipt(session, f, code)
    assert receipt.state == "voided" and "捐赠人要求退回" in receipt.void_reason


def test_a_donation_already_spent_cannot_be_returned(session, factory, fund, donor, post):
    code = give(factory, fund, donor, amount="2500", purpose="education")
    post("commitment", fund, date=dt.date(2025, 3, 2), amount="2000", grant="P1",
         purpose="education")
    with pytest.raises(RuleViolation), transaction(factory) as s:
        donations.return_donation(s, OFFICE, fund, code, date=dt.date(2025, 3, 5), reason="退")
    session.rollback()
    assert donations.find_receipt(session, find_fund(session, fund), code).state == "issued"


def test_donor_identities_are_checked_and_protected(session, factory, fund):
    keys = Protector(*(k.encode() for k in generate_keys()))
    with pytest.raises(InvalidInput), transaction(factory) as s:
        donations.add_donor(s, OFFICE, fund, kind="enterprise", name="某公司",
                            credit_code="91350100M000100Y44")  # wrong check character
    number = synthetic_id("512002", dt.date(1985, 1, 1), 13)
    with transaction(factory) as s:
        person = donations.add_donor(s, OFFICE, fund, kind="individual", name="王芳",
                                     id_number=number, publish="anonymous", protector=keys)
        assert person.id_masked == number[:3] + "*" * 11 + number[-4:]
        assert person.public_name == "匿名"
    with pytest.raises(Conflict), transaction(factory) as s:
        donations.add_donor(s, OFFICE, fund, kind="individual", name="王芳二",
                            id_number=number, protector=keys)
    raw = session.execute(text("SELECT * FROM donors")).all()
    assert all(number not in repr(row) for row in raw)


def test_top_up_rules(session, factory, fund, donor):
    give(factory, fund, donor, amount="30000", day=dt.date(2025, 4, 1))
    give(factory, fund, donor, amount="12000.50", day=dt.date(2025, 9, 1))
    with transaction(factory) as s:
        treasury.set_rule(s, FIN1, fund, kind="ratio", ratio="0.5", cap="20000")
    assert treasury.propose_top_up(session, fund, 2026).amount == D("20000.00")  # capped
    with transaction(factory) as s:
        treasury.set_rule(s, FIN1, fund, kind="ratio", ratio="0.4", cap="50000")
    session.rollback()
    assert treasury.propose_top_up(session, fund, 2026).amount == D("16800.20")  # 0.4 × 42000.50
    assert treasury.propose_top_up(session, fund, 2025).amount == D("0.00")
    with transaction(factory) as s:
        treasury.set_rule(s, FIN1, fund, kind="fixed", amount="300000")
    session.rollback()
    assert treasury.propose_top_up(session, fund, 2026).amount == D("300000.00")
    with pytest.raises(InvalidInput), transaction(factory) as s:
        treasury.set_rule(s, FIN1, fund, kind="ratio", ratio="abc", cap="1")


@pytest.fixture
def finance(factory, fund) -> tuple[Actor, Actor]:
    """Two finance users of the fund: the two halves of an allocation are proven people."""
    from people.users import add_user
    from tests.worlds import CONSOLE, PASSWORD

    with transaction(factory) as s:
        return tuple(add_user(s, CONSOLE, username=name, display_name=name, role="finance",
                              fund_code=fund, password=PASSWORD).actor()
                     for name in ("fin1", "fin2"))


def test_allocations_post_only_when_a_second_finance_user_confirms(session, factory, fund,
                                                                    finance):
    first, second = finance
    with transaction(factory) as s:
        proposal = allocations.propose(s, first, fund, amounts={
            "education": "30000", "medical": "20000", "orphans": ""}, doc_no="资慈〔2025〕3号")
        proposal_id = proposal.id
    assert balance(session, find_fund(session, fund), "Assets:Fund:Education") == D("0.00")
    with pytest.raises(PermissionDenied), transaction(factory) as s:
        allocations.confirm(s, first, fund, proposal_id)
    with transaction(factory) as s:
        allocations.confirm(s, second, fund, proposal_id)
    session.rollback()
    book = balances(session, find_fund(session, fund))
    assert book["Assets:Fund:Education"] == D("30000.00")
    assert book["Assets:Fund:General"] == D("50000.00")
    with pytest.raises(Conflict), transaction(factory) as s:
        allocations.confirm(s, second, fund, proposal_id)


def test_two_halves_are_compared_by_user_id_not_by_name(factory, fund, finance):
    first, second = finance
    with transaction(factory) as s:
        proposal_id = allocations.propose(s, first, fund, amounts={"education": "100"}).id
    # Someone called "fin1" who is not the proposer is a second person; an actor with no
    # proven user is nobody at all, whatever its name.
    for nobody in (Actor("fin9", "finance"), Actor("console", "console"),
                   Actor("fin2", "finance")):
        with pytest.raises(PermissionDenied), transaction(factory) as s:
            allocations.confirm(s, nobody, fund, proposal_id)
    for nobody in (Actor("fin1", "finance"), Actor("ops", "console")):
        with pytest.raises(PermissionDenied), transaction(factory) as s:
            allocations.propose(s, nobody, fund, amounts={"education": "1"})
    renamed = Actor("fin1", "finance", second.user_id, second.fund)
    with transaction(factory) as s:
        allocations.confirm(s, renamed, fund, proposal_id)


def test_an_allocation_beyond_the_general_pool_is_refused(factory, fund, finance):
    with pytest.raises(InvalidInput) as caught, transaction(factory) as s:
        allocations.propose(s, finance[0], fund, amounts={"education": "100000.01"})
    assert "¥100,000.00" in caught.value.message
    with pytest.raises(PermissionDenied), transaction(factory) as s:
        allocations.propose(s, OFFICE, fund, amounts={"education": "1"})
