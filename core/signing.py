"""The key that signs the published static site (Ed25519), without Flask.

The private key is given as ``SPECIALFUND_SIGNING_KEY``: either the path of a PEM file
(PKCS#8, as ``openssl genpkey -algorithm ed25519`` writes) or the 32 raw bytes in base64
(what ``specialfund keys generate`` prints). The public half is published as PEM, and
told apart by its fingerprint: the SHA-256 of its DER form, which anyone can recompute
with ``openssl pkey -pubin -in public-key.pem -outform DER | sha256sum``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from core.errors import InvalidInput

RAW_KEY_BYTES = 32


def new_signing_key() -> str:
    """A fresh private key as one environment value: its raw bytes in base64."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def load_signing_key(value: str) -> Ed25519PrivateKey:
    """The private key named by ``value`` (a PEM file's path, or base64 of its 32 raw
    bytes); refuses anything else without quoting it."""
    value = value.strip()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == RAW_KEY_BYTES:
        return Ed25519PrivateKey.from_private_bytes(raw)
    path = Path(value).expanduser()
    if not path.is_file():
        raise InvalidInput("The signing key is neither 32 bytes in base64 nor the path of "
                           "a PEM file.")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), None)
    except (OSError, ValueError, TypeError):
        raise InvalidInput("The signing key file cannot be read as an unencrypted PEM "
                           "private key.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("The signing key file holds a key that is not Ed25519.")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the key's DER form, in hex."""
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise InvalidInput("The public key is not a PEM public key.") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("The public key is not an Ed25519 key.")
    return key


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def signature_holds(key: Ed25519PublicKey, data: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
