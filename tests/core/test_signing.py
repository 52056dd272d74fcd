"""The static site's signing key: base64 of its raw bytes or a PEM file, as openssl
writes it; a signature holds for its own key only."""

from __future__ import annotations

import subprocess

import pytest

from core.errors import InvalidInput
from core.signing import (
    fingerprint,
    load_public_key,
    load_signing_key,
    new_signing_key,
    public_pem,
    sign,
    signature_holds,
)


def test_a_generated_key_signs_and_its_public_half_verifies():
    key = load_signing_key(new_signing_key())
    signature = sign(key, b"manifest")
    public = load_public_key(public_pem(key.public_key()))
    assert signature_holds(public, b"manifest", signature)
    assert not signature_holds(public, b"manifest!", signature)
    other = load_signing_key(new_signing_key()).public_key()
    assert not signature_holds(other, b"manifest", signature)
    assert fingerprint(public) != fingerprint(other) and len(fingerprint(public)) == 64


def test_a_pem_file_made_by_openssl_is_a_signing_key(tmp_path):
    path = tmp_path / "site.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(path)],
                   check=True, capture_output=True)
    key = load_signing_key(str(path))
    printed = subprocess.run(["openssl", "pkey", "-in", str(path), "-pubout"], check=True,
                             capture_output=True).stdout
    assert public_pem(key.public_key()) == printed


def test_anything_else_is_refused_without_quoting_it(tmp_path):
    rsa = tmp_path / "rsa.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "rsa", "-out", str(rsa)], check=True,
                   capture_output=True)
    for value in ("c2hvcnQ=", str(tmp_path / "nowhere.pem"), str(rsa)):
        with pytest.raises(InvalidInput) as refused:
            load_signing_key(value)
        assert value not in refused.value.message
