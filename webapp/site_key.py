"""The public half of the key that signs the published static site (``webapp.static_site``),
as the live site prints it: anyone checks a copy of the site against it."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import current_app

from core.signing import fingerprint, load_signing_key, public_pem

_EXTENSION = "specialfund.site_key"


def public_key() -> Ed25519PublicKey | None:
    """The app's signing key's public half (None when the app has no signing key)."""
    value = str(current_app.config.get("SIGNING_KEY") or "")
    if not value:
        return None
    cached = current_app.extensions.get(_EXTENSION)
    if cached is None or cached[0] != value:
        cached = (value, load_signing_key(value).public_key())
        current_app.extensions[_EXTENSION] = cached
    return cached[1]


def printed() -> dict[str, str] | None:
    """The key as a page prints it: PEM and SHA-256 fingerprint."""
    key = public_key()
    if key is None:
        return None
    return {"pem": public_pem(key).decode("ascii"), "sha256": fingerprint(key)}
