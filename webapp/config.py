"""Configuration from the environment, with an embedded SQLite default.

Secrets (the session key and the two keys that protect children's data) come from
the environment, and the app and the console refuse to start when one is missing or
malformed: a key silently generated on one server of several would make that server
unable to read the others' data or sessions. Only local development
(``SPECIALFUND_ENV=development``, which `make run` sets) generates missing keys, once,
into ``instance/secrets.toml`` (mode 0600). Keys are never stored in the database.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path

from core.errors import DomainError
from core.protection import data_keys, generate_keys
from core.signing import load_signing_key, new_signing_key

KEY_NAMES = ("SECRET_KEY", "SPECIALFUND_DATA_KEY", "SPECIALFUND_HASH_KEY")
# The key that signs the published static site (core.signing): optional on a server --
# without it the site says so and ``publish-static`` refuses -- generated in development.
SIGNING_KEY = "SPECIALFUND_SIGNING_KEY"
MIN_KEY = 32  # characters of SECRET_KEY and SPECIALFUND_HASH_KEY


class ConfigurationError(DomainError):
    """The app cannot start as configured; the message names the setting."""

    code = "configuration"
    http_status = 500


def is_development() -> bool:
    """Local development is declared, never assumed: ``SPECIALFUND_ENV=development``."""
    return os.environ.get("SPECIALFUND_ENV", "").strip().lower() == "development"


def new_keys() -> dict[str, str]:
    """A fresh set of the three keys, for ``specialfund keys generate`` and local use."""
    data_key, hash_key = generate_keys()
    return {"SECRET_KEY": secrets.token_hex(32), "SPECIALFUND_DATA_KEY": data_key,
            "SPECIALFUND_HASH_KEY": hash_key}


def check_keys(keys: dict[str, str]) -> None:
    """Refuse a key that is too short or not of its kind, naming it (never its value)."""
    for name in ("SECRET_KEY", "SPECIALFUND_HASH_KEY"):
        value = keys[name]
        if len(value) < MIN_KEY or any(c.isspace() or c == "," for c in value):
            raise ConfigurationError(
                "{name} must be at least {n} characters without spaces or commas; "
                "make one with “specialfund keys generate”.", name=name, n=MIN_KEY)
    try:
        data_keys(keys["SPECIALFUND_DATA_KEY"])
    except (ValueError, UnicodeError) as error:
        position = error.args[0] if error.args and isinstance(error.args[0], int) else 1
        raise ConfigurationError(
            "SPECIALFUND_DATA_KEY: key {n} is not a Fernet key (32 bytes in url-safe base64, "
            "44 characters); several keys are separated by commas, newest first.",
            n=position) from None


def _instance_secrets(instance: Path) -> dict[str, str]:
    path = instance / "secrets.toml"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        keys = new_keys()
        path.write_text(
            "# Generated for local development. Keep it out of backups of the database:\n"
            "# the data key decrypts children's personal data.\n"
            + "".join(f'{name} = "{keys[name]}"\n' for name in KEY_NAMES), encoding="utf-8")
        path.chmod(0o600)
    local = tomllib.loads(path.read_text(encoding="utf-8"))
    if SIGNING_KEY not in local:  # a folder made before the site was signed
        with path.open("a", encoding="utf-8") as stream:
            stream.write(f'{SIGNING_KEY} = "{new_signing_key()}"\n')
        local = tomllib.loads(path.read_text(encoding="utf-8"))
    return dict(local)


def signing_key_from_environment(instance: Path) -> str:
    """``SPECIALFUND_SIGNING_KEY`` checked ("" when unset outside local development)."""
    value = os.environ.get(SIGNING_KEY, "").strip()
    if not value and is_development():
        value = _instance_secrets(instance)[SIGNING_KEY]
    if value:
        try:
            load_signing_key(value)
        except DomainError:
            raise ConfigurationError(
                "{name} must be 32 bytes in base64 or the path of an Ed25519 private key in "
                "PEM; make one with “specialfund keys generate”.", name=SIGNING_KEY) from None
    return value


def keys_from_environment(instance: Path) -> dict[str, str]:
    """The three keys, checked. Outside local development each must be set."""
    keys = {name: os.environ.get(name, "").strip() for name in KEY_NAMES}
    missing = [name for name, value in keys.items() if not value]
    if missing and not is_development():
        raise ConfigurationError(
            "{names} not set. Outside local development every server needs the same three "
            "keys: make them once with “specialfund keys generate” (on a developer's machine, "
            "SPECIALFUND_ENV=development generates them).", names=", ".join(missing))
    if missing:
        local = _instance_secrets(instance)
        keys.update({name: local[name] for name in missing})
    check_keys(keys)
    return keys


def _whole_number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise ConfigurationError("{name} must be a whole number of 0 or more.", name=name)
    return int(value)


def _minutes(name: str, default: int) -> int:
    value = _whole_number(name, default)
    if value < 1:
        raise ConfigurationError("{name} is a whole number of minutes from 1.", name=name)
    return value


def from_environment(instance_path: str) -> dict[str, object]:
    instance = Path(instance_path)
    keys = keys_from_environment(instance)
    sqlite = f"sqlite:///{instance / 'specialfund.db'}"
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or sqlite,
        "ENVIRONMENT": "development" if is_development() else "production",
        "SECRET_KEY": keys["SECRET_KEY"],
        "DATA_KEY": keys["SPECIALFUND_DATA_KEY"],
        "HASH_KEY": keys["SPECIALFUND_HASH_KEY"],
        "SIGNING_KEY": signing_key_from_environment(instance),
        "ATTACHMENTS_DIR": str(instance / "attachments"),
        # Jobs (webapp.queue): their files, and the queue's storage -- SQLite in the
        # instance folder, or Redis when REDIS_URL is set. Immediate: each job runs in
        # the request that asks for it (tests).
        "JOBS_DIR": str(instance / "jobs"),
        "JOBS_QUEUE": str(instance / "queue.db"),
        # The queue's name in Redis: apps sharing one Redis with other things keep apart.
        "JOBS_QUEUE_NAME": os.environ.get("SPECIALFUND_JOBS_QUEUE_NAME", "").strip()
        or "specialfund",
        "JOBS_IMMEDIATE": os.environ.get("SPECIALFUND_JOBS_IMMEDIATE", "0").strip() == "1",
        "JOBS_KEEP_DAYS": _whole_number("SPECIALFUND_JOBS_KEEP_DAYS", 7),
        # A bank statement larger than this many bytes is imported by the worker, not in
        # the request that uploads it (webapp.money, jobs.statement_import).
        "IMPORT_QUEUE_BYTES": _whole_number("SPECIALFUND_IMPORT_QUEUE_BYTES", 256 * 1024),
        "REDIS_URL": os.environ.get("REDIS_URL", "").strip(),
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
        # How long browsers and proxies may keep a public page (webapp.responses).
        "PUBLIC_MAX_AGE": _whole_number("SPECIALFUND_PUBLIC_MAX_AGE", 60),
        # Behind N reverse proxies, trust their X-Forwarded-For/-Proto (werkzeug ProxyFix).
        "PROXY_HOPS": _whole_number("SPECIALFUND_PROXY_HOPS", 0),
        # Strict-Transport-Security max-age, once the site is served over https only.
        "HSTS_SECONDS": _whole_number("SPECIALFUND_HSTS_SECONDS", 0),
        # Rate limits (webapp.limits): counters in Redis when REDIS_URL is set, else in
        # each process's memory; the limits in Flask-Limiter's notation.
        "RATE_LIMITS": os.environ.get("SPECIALFUND_RATE_LIMITS", "1").strip() != "0",
        "RATE_LIMIT_STORAGE": os.environ.get("REDIS_URL") or "memory://",
        "RATE_LIMIT_KEY_PREFIX": "specialfund",
        "RATE_LIMIT_SIGN_IN": os.environ.get("SPECIALFUND_LIMIT_SIGN_IN")
        or "30 per minute; 300 per hour",
        "RATE_LIMIT_SIGN_IN_FAILURES": os.environ.get("SPECIALFUND_LIMIT_SIGN_IN_FAILURES")
        or "5 per 15 minutes",
        "RATE_LIMIT_API": os.environ.get("SPECIALFUND_LIMIT_API") or "300 per minute",
        "RATE_LIMIT_PUBLIC": os.environ.get("SPECIALFUND_LIMIT_PUBLIC") or "120 per minute",
        # Logs (webapp.logs): one JSON object a line outside local development.
        "LOG_FORMAT": _log_format(),
        "LOG_LEVEL": _log_level(),
        # Prometheus metrics at /metrics (webapp.metrics): off unless asked for.
        "METRICS": os.environ.get("SPECIALFUND_METRICS", "0").strip() == "1",
    }


LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_format() -> str:
    value = os.environ.get("SPECIALFUND_LOG_FORMAT", "").strip().lower()
    if not value:
        return "text" if is_development() else "json"
    if value not in LOG_FORMATS:
        raise ConfigurationError("{name} is “json” or “text”.", name="SPECIALFUND_LOG_FORMAT")
    return value


def _log_level() -> str:
    value = os.environ.get("SPECIALFUND_LOG_LEVEL", "").strip().upper() or "INFO"
    if value not in LOG_LEVELS:
        raise ConfigurationError("{name} is DEBUG, INFO, WARNING or ERROR.",
                                 name="SPECIALFUND_LOG_LEVEL")
    return value
