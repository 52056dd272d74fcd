"""Children's data cannot leak through free text: the operations that write public text
refuse a resident ID number and the name of a listed child, with a message that says
why and repeats neither (grants.screening, core.screening)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from core.db import transaction
from core.errors import InvalidInput
from core.reading import clean_text
from core.screening import contains_id_number, strip_invisible
from grants import attachments
from grants import operations as ops
from grants.access import get_project
from grants.beneficiaries import add_beneficiary
from grants.models import Beneficiary, Project
from grants.screening import KeysMissing, screen_public_text
from ledger.journal import find_fund
from tests.worlds import CHILD, GUARDIAN, NUMBER, id_number, project_input


def projects(world) -> int:
    with world.factory() as session:
        return session.execute(select(func.count()).select_from(Project)).scalar_one()


def refused(world, user: str, operation, *args, **kwargs) -> str:
    before = projects(world)
    with pytest.raises(InvalidInput) as error:
        world.run(user, operation, *args, **kwargs)
    assert projects(world) == before  # nothing changed
    return error.value.message


# --- ID numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["title", "implementing_unit", "payee", "summary"])
def test_an_id_number_in_any_public_field_of_a_project_is_refused(world, field):
    message = refused(world, "ca", ops.create_project,
                      data=project_input(**{field: f"资助学生（身份证{NUMBER}）"}))
    assert "身份证" in message
    assert NUMBER not in message and NUMBER[6:14] not in message
    label = {"title": "项目名称", "implementing_unit": "实施单位", "payee": "收款单位",
             "summary": "项目概述"}[field]
    assert message.startswith(label), message


WITH_X = next(n for n in (id_number("510102", dt.date(2012, 1, 30), s) for s in range(1000))
              if n.endswith("X"))


@pytest.mark.parametrize("written", [
    NUMBER,
    f"{NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:]}",  # spaced as on the card
    f"{NUMBER[:6]}-{NUMBER[6:14]}-{NUMBER[14:]}",
    "".join(chr(ord(c) + 0xFEE0) for c in NUMBER),  # full-width digits
    NUMBER[:9] + "\u200b" + NUMBER[9:],  # a zero-width space inside
    f"2026 {NUMBER} 13800000000",  # among other numbers
    "ID" + NUMBER + "号",
    WITH_X, WITH_X[:17] + "x",  # the check character X, in either case
])
def test_an_id_number_is_found_however_it_is_written(written):
    assert contains_id_number(written)


@pytest.mark.parametrize("text", [
    "批准金额 120000.00 元，共 3 笔拨付",
    NUMBER[:17] + ("0" if NUMBER[17] != "0" else "1"),  # a wrong check digit
    "62220212345678901234",  # a bank card number, no valid ID inside
    "91510100MA61234567",  # a unified social credit code
    "资府发〔2017〕25号",
])
def test_other_numbers_pass(text):
    assert not contains_id_number(text)


# --- names on the beneficiary list ---------------------------------------------------------


def test_a_listed_childs_name_is_refused_in_a_new_project(world, listed):
    for field in ("title", "summary", "implementing_unit", "payee"):
        message = refused(world, "ca", ops.create_project,
                          data=project_input(**{field: f"为{CHILD}同学购置轮椅"}))
        assert CHILD not in message and "名" in message, message


@pytest.mark.parametrize("written", [f"为{CHILD}同学", "为王 小 明同学", "为王\u200d小明同学",
                                     "为王\u202e小明同学"])
def test_the_name_is_found_however_it_is_spaced(world, listed, written):
    refused(world, "ca", ops.create_project, data=project_input(title=written))


def test_a_draft_edit_is_screened_too(world, listed):
    with world.reading(listed, as_user="ca") as project:
        version = project.version
    with pytest.raises(InvalidInput):
        world.run("ca", ops.update_draft, listed, version=version,
                  data=project_input(summary=f"{CHILD}的家庭情况困难"))
    with world.reading(listed, as_user="ca") as project:
        assert CHILD not in project.summary


def test_other_names_and_the_guardian_pass(world, listed):
    """Only the listed children's names are refused: other people, and text that
    merely shares a character, pass."""
    pid = world.run("ca", ops.create_project,
                    data=project_input(title="王老师带领小明班级开展助学活动"))
    assert pid


def test_the_city_screens_its_counties_children_and_a_county_its_own(world, listed):
    """A city text is screened against its counties' lists; another county's is not
    (its own children are not on 雁江区's list)."""
    with transaction(world.factory) as session:
        city = find_fund(session, "ZYS")
        with pytest.raises(InvalidInput):
            screen_public_text(session, [city], [("Title", f"{CHILD}的故事")])
        screen_public_text(session, [find_fund(session, "AYX")], [("Title", f"{CHILD}的故事")])


def test_approval_screens_again_for_children_listed_since_the_draft(world, checked, factory,
                                                                   protector):
    """A project drafted with a name in its title; the child is listed afterwards (on
    another project): the approval, which makes the project public, is refused."""
    second = world.run("ca", ops.create_project, data=project_input(title=f"资助{CHILD}"))
    world.run("ca", ops.submit, second)
    world.run("co", ops.check, second, no_conflict=True)
    with transaction(factory) as session:
        project = get_project(session, world["ca"], checked, for_update=True)
        add_beneficiary(session, world["ca"], protector, project, name=CHILD, id_number=NUMBER,
                        category="left_behind", guardian=GUARDIAN, guardian_consent=True)
    with pytest.raises(InvalidInput):
        world.run("fin1", ops.approve, second, amount="90000", no_conflict=True)
    with world.reading(second) as project:
        assert project.state == "checked" and not project.approvals[1:]


def test_names_listed_before_the_hash_was_kept_are_hashed_when_needed(world, listed):
    with transaction(world.factory) as session:
        session.execute(update(Beneficiary).values(name_hash=None, name_length=None))
    refused(world, "ca", ops.create_project, data=project_input(title=f"{CHILD}助学"))
    world.run("ca", ops.create_project, data=project_input(title="另一个助学项目"))
    with world.factory() as session:
        rows = session.execute(select(Beneficiary.name_hash, Beneficiary.name_length)).all()
    assert [(len(digest), length) for digest, length in rows] == [(64, 3)]


def test_a_session_without_the_keys_cannot_let_a_listed_name_through(world, listed, engine):
    from core.db import make_session_factory

    bare = make_session_factory(engine)
    with bare() as session:
        fund = find_fund(session, "YJQ")
        screen_public_text(session, [fund], [("Title", "")])  # nothing to screen
        with pytest.raises(InvalidInput):  # ID numbers need no keys
            screen_public_text(session, [fund], [("Title", NUMBER)])
        with pytest.raises(KeysMissing):
            screen_public_text(session, [fund], [("Title", "一个普通的标题")])


def test_the_name_is_kept_only_as_a_keyed_hash(world, listed, protector):
    with world.factory() as session:
        row = session.execute(select(Beneficiary)).scalar_one()
        assert row.name_hash is not None and CHILD.encode() not in row.name_hash.encode()
        assert row.name_hash != hashlib.sha256(CHILD.encode()).hexdigest()


# --- invisible characters ------------------------------------------------------------------


def test_bidi_overrides_and_zero_width_characters_are_stripped_from_titles(world):
    hidden = "雁江\u202e区\u2066留守\u2069儿童\u200b助学\u200c项\u200d目\u2060\ufeff"
    pid = world.run("ca", ops.create_project, data=project_input(
        title=hidden, implementing_unit="\u202d雁江区民政局", payee="希望\u200b小学"))
    with world.reading(pid, as_user="ca") as project:
        assert project.title == "雁江区留守儿童助学项目"
        assert project.implementing_unit == "雁江区民政局" and project.payee == "希望小学"
    assert clean_text("\u200b\u202e", "Title") is None
    with pytest.raises(InvalidInput):
        clean_text("\u200b \u2066", "Title", required=True)
    assert strip_invisible("a\u200eb\u200fc") == "abc"


def test_bidi_overrides_are_stripped_from_attachment_names(world, draft, tmp_path: Path):
    pdf = b"%PDF-1.7\n%%EOF\n"
    with transaction(world.factory) as session:
        project = get_project(session, world["ca"], draft, for_update=True)
        row = attachments.store(session, world["ca"], project, data=pdf, folder=tmp_path,
                                filename="申报\u202efdp.exe\u202c\u200b.pdf")
        assert row.original_name == "申报fdp.exe.pdf"
