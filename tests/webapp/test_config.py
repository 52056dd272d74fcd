"""Keys: outside local development the app and the console refuse to start without
the three keys or with a malformed one; `keys generate` makes a set the app accepts;
`keys rotate-data` re-encrypts every protected value with a new data key."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import LargeBinary, select

import audit.models
import grants.models
import ledger.income_models
import ledger.models
import people.models
import reports.models
from audit.models import AuditRecord
from core.db import Base, transaction
from core.errors import InvalidInput
from core.protection import Protector, encrypted_columns, generate_keys
from grants.access import get_project
from grants.beneficiaries import add_beneficiary
from grants.models import Beneficiary
from ledger.donations import add_donor
from ledger.income_models import Donor
from webapp import create_app
from webapp.config import KEY_NAMES, SIGNING_KEY, ConfigurationError
from webapp.demo import synthetic_id
from webapp.extensions import db

CHILD_ID = synthetic_id("512002", dt.date(2015, 3, 8), 917)
DONOR_ID = synthetic_id("512021", dt.date(1980, 11, 23), 428)
UNREADABLE = "Protected data cannot be read with the configured key."


def make_app(database_url):
    return create_app({"DATABASE_URL": database_url, "TESTING": True})


@pytest.mark.parametrize("name", KEY_NAMES)
def test_the_app_refuses_to_start_without_a_key(database_url, instance_folder, monkeypatch,
                                                 name):
    monkeypatch.delenv(name)
    with pytest.raises(ConfigurationError) as refused:
        make_app(database_url)
    assert name in refused.value.message
    assert not (instance_folder / "secrets.toml").exists()  # nothing generated on a server


@pytest.mark.parametrize(("name", "value", "says"), [
    ("SECRET_KEY", "short-secret", "SECRET_KEY must be at least 32 characters"),
    ("SECRET_KEY", "x" * 20 + " " + "y" * 20, "SECRET_KEY must be at least 32 characters"),
    ("SPECIALFUND_HASH_KEY", "too-short-hash-key", "SPECIALFUND_HASH_KEY must be at least 32"),
    ("SPECIALFUND_DATA_KEY", "not-base64-at-all", "key 1 is not a Fernet key"),
    ("SPECIALFUND_DATA_KEY", "c2hvcnQ=", "key 1 is not a Fernet key"),
])
def test_the_app_refuses_to_start_with_a_malformed_key(database_url, monkeypatch, name, value,
                                                       says):
    monkeypatch.setenv("SPECIALFUND_LANG", "en")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as refused:
        make_app(database_url)
    assert says in str(refused.value.message_id.format(**refused.value.params))
    assert value not in refused.value.message  # a key never reaches a message


def test_a_malformed_second_data_key_is_named(database_url, monkeypatch):
    good = Fernet.generate_key().decode()
    monkeypatch.setenv("SPECIALFUND_DATA_KEY", f"{good},broken")
    with pytest.raises(ConfigurationError) as refused:
        make_app(database_url)
    assert refused.value.params == {"n": 2}


def test_the_console_refuses_to_start_without_a_key(run, monkeypatch, instance_folder):
    monkeypatch.delenv("SPECIALFUND_HASH_KEY")
    code, out, err = run("fund", "list")
    assert code == 1 and out == ""
    assert err.startswith("Error: SPECIALFUND_HASH_KEY not set.")
    assert "Traceback" not in err
    assert not (instance_folder / "secrets.toml").exists()


def test_local_development_generates_the_keys_once(database_url, instance_folder, monkeypatch):
    for name in KEY_NAMES:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SPECIALFUND_ENV", "development")
    first = make_app(database_url)
    secrets = instance_folder / "secrets.toml"
    assert secrets.stat().st_mode & 0o777 == 0o600
    second = make_app(database_url)
    db.dispose_all()
    for key in ("SECRET_KEY", "DATA_KEY", "HASH_KEY"):
        assert first.config[key] == second.config[key]
    assert first.config["ENVIRONMENT"] == "development"


def test_local_development_adds_a_signing_key_to_older_secrets(database_url, instance_folder,
                                                               monkeypatch):
    monkeypatch.setenv("SPECIALFUND_ENV", "development")
    monkeypatch.delenv(SIGNING_KEY, raising=False)
    instance_folder.mkdir(parents=True, exist_ok=True)
    secrets = instance_folder / "secrets.toml"
    secrets.write_text("# made before the static site was signed\n", encoding="utf-8")
    first = make_app(database_url)
    second = make_app(database_url)
    db.dispose_all()
    assert first.config["SIGNING_KEY"] and first.config["SIGNING_KEY"] == \
        second.config["SIGNING_KEY"]
    assert secrets.read_text(encoding="utf-8").count(SIGNING_KEY) == 1


def test_a_server_may_run_without_a_signing_key_but_not_with_a_malformed_one(
        database_url, monkeypatch, tmp_path):
    monkeypatch.delenv(SIGNING_KEY, raising=False)
    app = make_app(database_url)
    db.dispose_all()
    assert app.config["SIGNING_KEY"] == ""
    for value in ("c2hvcnQ=", str(tmp_path / "missing.pem")):
        monkeypatch.setenv(SIGNING_KEY, value)
        with pytest.raises(ConfigurationError) as refused:
            make_app(database_url)
        assert refused.value.params == {"name": SIGNING_KEY}
        assert value not in refused.value.message


def test_keys_generate_prints_keys_the_app_accepts(run, database_url, monkeypatch):
    for name in KEY_NAMES:
        monkeypatch.delenv(name)  # generating needs no keys and no app
    code, out, _err = run("keys", "generate")
    assert code == 0
    lines = dict(line.split("=", 1) for line in out.splitlines())
    assert list(lines) == [*KEY_NAMES, SIGNING_KEY]
    code, again, _err = run("keys", "generate")
    assert set(again.splitlines()).isdisjoint(out.splitlines())  # fresh every time
    for name, value in lines.items():
        monkeypatch.setenv(name, value)
    app = make_app(database_url)
    db.dispose_all()
    assert app.config["DATA_KEY"] == lines["SPECIALFUND_DATA_KEY"]
    assert app.config["SIGNING_KEY"] == lines[SIGNING_KEY]
    Fernet(lines["SPECIALFUND_DATA_KEY"])  # a real Fernet key
    code, one, _err = run("keys", "generate", "--data-key")
    assert code == 0 and one.startswith("SPECIALFUND_DATA_KEY=") and len(one.splitlines()) == 1


def test_console_help_lists_the_commands_without_keys(run, monkeypatch):
    for name in KEY_NAMES:
        monkeypatch.delenv(name)
    code, out, err = run("--help")
    assert code == 0 and "keys" in out.split("Commands:")[1]
    assert err == ""


# --- rotating the data key ------------------------------------------------------------------


def test_every_binary_column_is_an_encrypted_one_the_rotation_covers():
    for module in (audit.models, grants.models, ledger.income_models, ledger.models,
                   reports.models, people.models):
        assert module.__name__  # imported: every table is on Base.metadata
    binary = {f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns
              if isinstance(c.type, LargeBinary)}
    covered = {f"{t.name}.{c.name}" for t, cs in encrypted_columns(Base.metadata) for c in cs}
    assert binary == covered
    assert {"beneficiaries.name_ct", "beneficiaries.id_number_ct", "beneficiaries.guardian_ct",
            "donors.id_number_ct"} <= covered


@pytest.fixture
def protected(world, factory, approved, monkeypatch):
    """Two children and an individual donor, encrypted with the configured (old) key."""
    import os

    old = Protector(os.environ["SPECIALFUND_DATA_KEY"].encode(),
                    os.environ["SPECIALFUND_HASH_KEY"].encode())
    with transaction(factory) as session:
        project = get_project(session, world["ca"], approved, for_update=True)
        add_beneficiary(session, world["ca"], old, project, name="金丝雀甲", id_number=CHILD_ID,
                        category="left_behind", guardian="金丝雀监护人", guardian_consent=True)
        add_beneficiary(session, world["ca"], old, project, name="金丝雀乙",
                        id_number=synthetic_id("512021", dt.date(2010, 11, 23), 428),
                        category="orphan", guardian=None, guardian_consent=False)
        add_donor(session, world["fin1"], "YJQ", kind="individual", name="张捐赠",
                  id_number=DONOR_ID, protector=old)
    return old


def stored(factory) -> list[bytes]:
    with factory() as session:
        rows = [*session.execute(select(Beneficiary.name_ct, Beneficiary.id_number_ct,
                                        Beneficiary.guardian_ct)).all(),
                *session.execute(select(Donor.id_number_ct)
                                 .where(Donor.id_number_ct.is_not(None))).all()]
    return [bytes(v) for row in rows for v in row if v is not None]


def readable(factory, protector) -> dict[str, str]:
    with factory() as session:
        children = session.execute(select(Beneficiary).order_by(Beneficiary.id)).scalars().all()
        donor = session.execute(select(Donor).where(Donor.id_number_ct.is_not(None))
                                ).scalar_one()
        found = {protector.decrypt(c.name_ct): protector.decrypt(c.id_number_ct)
                 for c in children}
        found["guardian"] = protector.decrypt(children[0].guardian_ct)
        found["donor"] = protector.decrypt(donor.id_number_ct)
    return found


def test_rotate_data_re_encrypts_every_value_with_the_new_key(protected, factory, run,
                                                              monkeypatch):
    old_key = protected.data_key
    new_key = Fernet.generate_key()
    before = readable(factory, protected)
    assert before["金丝雀甲"] == CHILD_ID and before["donor"] == DONOR_ID
    hash_key = protected.hash_key
    only_new = Protector(new_key, hash_key)
    with pytest.raises(InvalidInput) as unreadable:
        readable(factory, only_new)
    assert unreadable.value.message_id == UNREADABLE

    # During the change: the new key first, the old one after it; old values still read.
    during = Protector(new_key + b"," + old_key, hash_key)
    assert readable(factory, during) == before
    monkeypatch.setenv("SPECIALFUND_DATA_KEY", f"{new_key.decode()},{old_key.decode()}")
    old_tokens = stored(factory)
    code, out, err = run("keys", "rotate-data")
    assert code == 0, err
    assert "beneficiaries.name_ct: 2" in out and "donors.id_number_ct: 1" in out
    assert "6 protected values re-encrypted" in out

    tokens = stored(factory)
    assert len(tokens) == 6 and set(tokens).isdisjoint(old_tokens)
    assert readable(factory, only_new) == before  # the new key alone reads everything
    with pytest.raises(InvalidInput) as unreadable:
        readable(factory, protected)  # and the old key nothing
    assert unreadable.value.message_id == UNREADABLE
    with factory() as session:
        record = session.execute(select(AuditRecord).where(
            AuditRecord.action == "keys.rotate-data")).scalar_one()
    assert '"values":6' in record.after
    assert new_key.decode() not in record.after and old_key.decode() not in record.after

    # After the change the servers run on the new key alone, and so does the app.
    monkeypatch.setenv("SPECIALFUND_DATA_KEY", new_key.decode())
    code, out, err = run("receipt", "list", "--fund", "YJQ")
    assert code == 0, err


def test_rotate_data_needs_a_new_key_first(protected, factory, run):
    before = stored(factory)
    code, _out, err = run("keys", "rotate-data")
    assert code == 1
    assert "SPECIALFUND_DATA_KEY holds one key" in err
    assert stored(factory) == before


def test_rotate_data_changes_nothing_when_a_value_is_unreadable(protected, factory, run,
                                                                monkeypatch):
    """A value no configured key reads stops the whole rotation: one transaction."""
    stranger = Protector(*(k.encode() for k in generate_keys()))
    with transaction(factory) as session:
        child = session.execute(select(Beneficiary).order_by(Beneficiary.id.desc())
                                ).scalars().first()
        child.name_ct = stranger.encrypt("无人能读")
    before = stored(factory)
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("SPECIALFUND_DATA_KEY", f"{new_key},{protected.data_key.decode()}")
    code, _out, err = run("keys", "rotate-data")
    assert code == 1 and "cannot be read" in err
    assert stored(factory) == before
