"""Configuration from the environment, with an embedded SQLite default.

Secrets (the session key and the two keys that protect children's data) come from
the environment in production. For a local install they are generated once into
``instance/secrets.toml`` (mode 0600) so that `make run` works out of the box;
they are never stored in the database.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path

from core.protection import generate_keys


def _instance_secrets(instance: Path) -> dict[str, str]:
    path = instance / "secrets.toml"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        data_key, hash_key = generate_keys()
        path.write_text(
            "# Generated for this installation. Keep it out of backups of the database:\n"
            "# the data key decrypts children's personal data.\n"
            f'SECRET_KEY = "{secrets.token_hex(32)}"\n'
            f'SPECIALFUND_DATA_KEY = "{data_key}"\n'
            f'SPECIALFUND_HASH_KEY = "{hash_key}"\n', encoding="utf-8")
        path.chmod(0o600)
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _minutes(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    if not (value.isascii() and value.isdigit() and int(value) >= 1):
        raise ValueError(f"{name} is a whole number of minutes from 1, not {value[:20]!r}.")
    return int(value)


def from_environment(instance_path: str) -> dict[str, object]:
    instance = Path(instance_path)
    local = {}
    needed = ("SECRET_KEY", "SPECIALFUND_DATA_KEY", "SPECIALFUND_HASH_KEY")
    if not all(os.environ.get(k) for k in needed):
        local = _instance_secrets(instance)
    sqlite = f"sqlite:///{instance / 'specialfund.db'}"
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or sqlite,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or local["SECRET_KEY"],
        "DATA_KEY": os.environ.get("SPECIALFUND_DATA_KEY") or local["SPECIALFUND_DATA_KEY"],
        "HASH_KEY": os.environ.get("SPECIALFUND_HASH_KEY") or local["SPECIALFUND_HASH_KEY"],
        "ATTACHMENTS_DIR": str(instance / "attachments"),
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Off only for plain-http local use (make run sets it); production serves https.
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "1") != "0",
        "REMEMBER_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "1") != "0",
        # A session ends 8 hours after sign-in however busy, and after this idle time.
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "IDLE_MINUTES": _minutes("SPECIALFUND_IDLE_MINUTES", 30),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "PER_PAGE": 20,
        # Rendered public pages kept per server process (webapp.public.page_cache); 0: none.
        "PUBLIC_PAGE_CACHE": int(os.environ.get("SPECIALFUND_PUBLIC_PAGE_CACHE") or 64),
    }
