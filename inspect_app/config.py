"""Settings read from the environment (design.md 4.1)."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

# Keys that are public (in this repository) and must never protect a real deployment.
KNOWN_WEAK_SECRETS = {"", "dev", "change-me", "changeme", "secret", "test", "development"}


class ConfigError(RuntimeError):
    """The environment does not describe a runnable deployment; the message says how to fix it."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _demo_secret_key(instance_dir: Path, filename: str = "demo-secret-key") -> str:
    """A random key kept under instance/ so that demo sessions survive a restart."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / filename
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _proxy_hops(value: str | None) -> int:
    """INSPECT_PROXY_FIX: how many reverse proxies in front of the application to trust for the client's
    address (X-Forwarded-For) and scheme; 0 or unset trusts none, so a client cannot forge its address."""
    text = (value or "").strip()
    if not text:
        return 0
    try:
        hops = int(text)
    except ValueError:
        hops = -1
    if hops < 0:
        raise ConfigError(
            f"INSPECT_PROXY_FIX must be the number of reverse proxies in front of the application "
            f"(0 for none), not {text!r}. Behind one nginx, for example:\n"
            "    export INSPECT_PROXY_FIX=1")
    return hops


def load_config(environ: dict[str, str] | None = None) -> dict:
    """Build the Flask config from environment variables."""
    env = os.environ if environ is None else environ
    instance_dir = Path(env.get("INSPECT_INSTANCE_DIR", str(INSTANCE_DIR)))
    demo = _truthy(env.get("INSPECT_DEMO"))
    debug = _truthy(env.get("FLASK_DEBUG"))

    secret_key = env.get("SECRET_KEY", "")
    if secret_key.strip().lower() in KNOWN_WEAK_SECRETS or len(secret_key) < 16:
        if demo or debug:
            secret_key = _demo_secret_key(instance_dir)
        else:
            raise ConfigError(
                "SECRET_KEY is missing or too weak (a default value or shorter than 16 characters). "
                "Set a random one before starting the application, for example:\n"
                "    export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\"\n"
                "For a local demonstration only, set INSPECT_DEMO=1 (or use `make run`)."
            )

    id_hmac_key = env.get("INSPECT_ID_HMAC_KEY", "")
    if len(id_hmac_key) < 16:
        if demo or debug:
            id_hmac_key = _demo_secret_key(instance_dir, "demo-id-hmac-key")
        else:
            raise ConfigError(
                "INSPECT_ID_HMAC_KEY is missing or shorter than 16 characters. It keys the HMAC under which "
                "identity-card numbers are matched; set it once and keep it (changing it breaks matching):\n"
                "    export INSPECT_ID_HMAC_KEY=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\"")

    id_encryption_key = env.get("INSPECT_ID_ENCRYPTION_KEY", "")
    if len(id_encryption_key) < 32:
        if demo or debug:
            id_encryption_key = _demo_secret_key(instance_dir, "demo-id-encryption-key")
        else:
            raise ConfigError(
                "INSPECT_ID_ENCRYPTION_KEY is missing or shorter than 32 characters. It encrypts the identity-card "
                "numbers that only some roles may read in full (staff rosters for police referrals); set it once "
                "and keep it (losing it makes the stored numbers unreadable):\n"
                "    export INSPECT_ID_ENCRYPTION_KEY=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\"")

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'inspect.sqlite3'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    data_dir = Path(env.get("INSPECT_DATA_DIR", str(instance_dir / "data")))
    return {
        "SECRET_KEY": secret_key,
        "ID_HMAC_KEY": id_hmac_key,
        "ID_ENCRYPTION_KEY": id_encryption_key,
        "INSPECT_DEMO": demo,
        "INSTANCE_DIR": str(instance_dir),
        "INSPECT_DATA_DIR": str(data_dir),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A ping per checkout guards against a restarted PostgreSQL; SQLite has nothing to ping.
        "SQLALCHEMY_ENGINE_OPTIONS": {} if database_url.startswith("sqlite") else {"pool_pre_ping": True},
        # trusted reverse-proxy hops: the audit log and the rate limits see the client, not the proxy
        "INSPECT_PROXY_FIX": _proxy_hops(env.get("INSPECT_PROXY_FIX")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _truthy(env.get("SESSION_COOKIE_SECURE")),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "WTF_CSRF_TIME_LIMIT": None,  # a form left open on a tablet all morning still submits
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": env.get("INSPECT_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh_CN", "en"],
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "PASSWORD_HASH_METHOD": "scrypt:32768:8:1",
        "LOGIN_RATE_LIMIT": env.get("INSPECT_LOGIN_RATE_LIMIT", "20 per minute"),
        # public tip-offs (举报): reports and status look-ups per client address
        "TIPOFF_RATE_LIMIT": env.get("INSPECT_TIPOFF_RATE_LIMIT", "5 per hour; 20 per day"),
        "TIPOFF_STATUS_RATE_LIMIT": env.get("INSPECT_TIPOFF_STATUS_RATE_LIMIT", "30 per minute"),
        "TIPOFF_MAX_PHOTOS": int(env.get("INSPECT_TIPOFF_MAX_PHOTOS", "3")),
        "TIPOFF_MAX_PHOTO_BYTES": int(env.get("INSPECT_TIPOFF_MAX_PHOTO_MB", "2")) * 1024 * 1024,
        # the public pages and API of 一公开 (published results), per client address
        "PUBLIC_RATE_LIMIT": env.get("INSPECT_PUBLIC_RATE_LIMIT", "120 per minute"),
        # a draw's published record holds the whole population (megabytes): fewer per client
        "PUBLIC_RECORD_RATE_LIMIT": env.get("INSPECT_PUBLIC_RECORD_RATE_LIMIT", "10 per minute"),
        "LOGIN_MAX_FAILURES": int(env.get("INSPECT_LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCKOUT_MINUTES": int(env.get("INSPECT_LOGIN_LOCKOUT_MINUTES", "15")),
        "API_TOKEN_HOURS": int(env.get("INSPECT_API_TOKEN_HOURS", "12")),
        # how long a worker trusts a validated token before asking the database again
        "API_TOKEN_CACHE_SECONDS": float(env.get("INSPECT_API_TOKEN_CACHE_SECONDS", "5")),
        "MAX_CONTENT_LENGTH": int(env.get("INSPECT_MAX_UPLOAD_MB", "32")) * 1024 * 1024,
        # Geocoding: offline gazetteer by default (closed network); nominatim or baidu when configured.
        "GEOCODER": env.get("INSPECT_GEOCODER", "offline"),
        "GEOCODER_URL": env.get("INSPECT_GEOCODER_URL", ""),
        "GEOCODER_API_KEY": env.get("INSPECT_GEOCODER_API_KEY", ""),
        "GEOCODER_TIMEOUT_S": env.get("INSPECT_GEOCODER_TIMEOUT_S", "5"),
        "REGISTRIES_DIR": env.get("INSPECT_REGISTRIES_DIR", str(PROJECT_ROOT / "registries")),
        "CHECKLISTS_DIR": env.get("INSPECT_CHECKLISTS_DIR", str(PROJECT_ROOT / "checklists")),
        # Notices: the public address printed in the QR code (else the request's), and the batch's render processes
        "PUBLIC_BASE_URL": env.get("INSPECT_PUBLIC_URL", ""),
        "NOTICE_WORKERS": int(env.get("INSPECT_NOTICE_WORKERS", "0")),
        "VERIFY_RATE_LIMIT": env.get("INSPECT_VERIFY_RATE_LIMIT", "10 per minute"),
        # flask-smorest / OpenAPI
        "API_TITLE": "Shuozhou joint inspection API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": None,  # served by our own route at /api/v1/openapi.json
    }
