"""Configuration read from the environment.

Two database URLs: ``DATABASE_URL`` is the privileged connection (table owner: migrations,
platform admin, webhooks, background tasks); ``APP_DATABASE_URL`` is the web application's
role, which neither owns the tables nor bypasses Row-Level Security. When only
``DATABASE_URL`` is given, the application URL is derived from it by swapping in the
application role.
"""

from __future__ import annotations

import os

from flask_appbuilder.const import AUTH_DB
from sqlalchemy.engine import make_url

APP_DB_ROLE = "coursecove_app"
# Known to everyone who reads this file: fine on a laptop, refused by ProductionConfig.
DEV_SECRET_KEY = "dev-only-secret-change-me"
DEV_APP_DB_PASSWORD = "coursecove-app-dev"


def app_database_url(privileged_url: str, password: str | None) -> str:
    """The same server and database as ``privileged_url``, logged in as the application role."""
    url = make_url(privileged_url).set(username=APP_DB_ROLE, password=password)
    return url.render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs at psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    APP_NAME = "CourseCove"
    # Schools live on <subdomain>.<APP_DOMAIN>; the bare domain is the platform.
    APP_DOMAIN = os.environ.get("APP_DOMAIN", "localhost:5000")

    DATABASE_URL = sqlalchemy_url(os.environ.get("DATABASE_URL", ""))
    APP_DB_PASSWORD = os.environ.get("APP_DB_PASSWORD", DEV_APP_DB_PASSWORD)
    # ProductionConfig sets this: no start without real SECRET_KEY and APP_DB_PASSWORD.
    REQUIRE_REAL_SECRETS = False
    SQLALCHEMY_DATABASE_URI = DATABASE_URL
    SQLALCHEMY_BINDS: dict[str, dict] = {}
    # Both engines (finalize gives the application role's the same): a pooled connection that
    # PostgreSQL ended (a restart, a failover) is replaced before use instead of failing the
    # request, and a server that does not answer fails a connection in seconds, not minutes.
    # Sessions are in UTC whatever the server's default, so psycopg hands out datetimes in
    # datetime.UTC: it decodes those ~2x faster than in ZoneInfo("Etc/UTC"), initdb's usual
    # default, and the scheduling core converts them faster too (thousands per availability
    # page). (PgBouncer needs ``ignore_startup_parameters = options`` for it.)
    DATABASE_CONNECT_TIMEOUT_S = int(os.environ.get("DATABASE_CONNECT_TIMEOUT_S", "5"))
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_pre_ping": True,
        "connect_args": {
            "connect_timeout": DATABASE_CONNECT_TIMEOUT_S,
            "options": "-c TimeZone=UTC",
        },
    }
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    # No request body is read past this, chunked or not: a 413. The one upload, a school's
    # logo, is at most 512 KB (a bigger one up to this size gets the logo page's own message).
    # The Clerk webhook has its own, smaller limit (identity/webhooks.py).
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(4 * 1024 * 1024)))
    # Logs (app/logs.py): "json" for one object a line (the default in production), else text.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # How many proxies (TLS terminator, load balancer) stand in front and set X-Forwarded-*;
    # 0: none, REMOTE_ADDR is the visitor (docs/deployment.md).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))

    # Flask-AppBuilder: migrations own the schema, never create_all.
    FAB_CREATE_DB = False
    # Roles and permissions are written once per release, by prepare_database() (`coursecove
    # setup`, `make run`, the tests), not again by every web, worker and beat process as it
    # starts: that cost each ~1 s and ~500 statements, writing whatever it found missing.
    FAB_UPDATE_PERMS = False
    FAB_SECURITY_MANAGER_CLASS = "app.tenancy.security.SchoolSecurityManager"
    FAB_INDEX_VIEW = "app.home.HomeView"
    AUTH_TYPE = AUTH_DB
    AUTH_ROLE_ADMIN = "PlatformAdmin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    FAB_ADD_SECURITY_VIEWS = True
    FAB_API_SWAGGER_UI = False
    FAB_ROLES = {
        # Roles a school membership grants on that school's subdomain (see app/tenancy/security.py).
        "SchoolAdmin": [
            [
                r"(AppointmentType|Location|InstructorQualification|Instructor|Student"
                r"|Administrator)View",
                ".*",
            ],
            [r"SchoolSettingsView", "can_(list|show|edit)"],
            [r"SchoolLogoView", ".*"],
            [r"SchoolNotificationView", "can_(list|show)"],
            [r"(AppointmentType|Location|InstructorQualification)Api", ".*"],
            [
                r"(Booking|BookingChange|WorkingHours|WeeklyHours|HoursOverride|TimeOff"
                r"|SchoolClosure)View",
                ".*",
            ],
            [
                r"(Bookings|All bookings|Book for a student|Booking history|Availability"
                r"|Working hours|Hours by week|Date overrides|Time off|School closures"
                r"|Booking calendar"
                r"|Calendar feeds)",
                "menu_access",
            ],
            [
                r"(Appointment setup|School|People|Locations|Appointment types|Qualifications"
                r"|Instructors|Students|Administrators|Settings|Logo|E-mails)",
                "menu_access",
            ],
            [r"UserInfoEditView|ResetMyPasswordView", ".*"],
            [r"UserDBModelView", "can_userinfo|resetmypassword"],
        ],
        "Instructor": [
            [r"Teaching(Portal|Schedule)View", ".*"],
            [
                r"(Teaching|My teaching|My schedule|My week|My calendar feeds|My own calendar)",
                "menu_access",
            ],
            [r"UserInfoEditView|ResetMyPasswordView", ".*"],
            [r"UserDBModelView", "can_userinfo|resetmypassword"],
        ],
        "Student": [
            [r"(Lessons|Book a lesson|My bookings|My calendar feed)", "menu_access"],
            [r"UserInfoEditView|ResetMyPasswordView", ".*"],
            [r"UserDBModelView", "can_userinfo|resetmypassword"],
        ],
    }

    # Host-only session cookies: a musicschool cookie is never sent to yogastudio.
    SESSION_COOKIE_DOMAIN = False
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DOMAIN = None

    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
    # E-mail (docs/notifications.md). MAIL_BACKEND "outbox" keeps messages in the database
    # for the admin panels instead of sending them (`make run` without a mail server).
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    MAIL_FROM = os.environ.get("MAIL_FROM", "CourseCove <no-reply@coursecove.local>")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "") == "1"
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "6"))
    MAIL_RETRY_BASE_S = float(os.environ.get("MAIL_RETRY_BASE_S", "30"))
    MAIL_RETRY_MAX_S = float(os.environ.get("MAIL_RETRY_MAX_S", "3600"))
    MAIL_SWEEP_AFTER_S = float(os.environ.get("MAIL_SWEEP_AFTER_S", "60"))
    MAIL_SENDING_LEASE_S = float(os.environ.get("MAIL_SENDING_LEASE_S", "300"))
    MAIL_PUBLISH_TIMEOUT_S = float(os.environ.get("MAIL_PUBLISH_TIMEOUT_S", "0.25"))
    MAIL_TASK_QUEUE = os.environ.get("MAIL_TASK_QUEUE", "celery")
    MAIL_BATCH_SIZE = int(os.environ.get("MAIL_BATCH_SIZE", "50"))
    # How long e-mailed account links work (docs/accounts.md), in minutes.
    INVITATION_TTL_MINUTES = int(os.environ.get("INVITATION_TTL_MINUTES", str(7 * 24 * 60)))
    SIGNUP_TTL_MINUTES = int(os.environ.get("SIGNUP_TTL_MINUTES", str(2 * 24 * 60)))
    PASSWORD_RESET_TTL_MINUTES = int(os.environ.get("PASSWORD_RESET_TTL_MINUTES", "60"))

    # Flask-Limiter keeps its counters in Redis (REDIS_URL unless set); 429s carry Retry-After.
    # RATE_LIMITS switches the limits and the sign-in lockout (app/security/throttle.py).
    # RATE_LIMITS=0 in the environment: a load test whose every client is one address.
    RATE_LIMITS = os.environ.get("RATE_LIMITS", "1") != "0"
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "")
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: count in this process's memory meanwhile (each limit then applies per web
    # worker), and never fail a request because the counters are out of reach.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # Every Redis call a request makes (limits, lockout) waits at most this long (s).
    REDIS_REQUEST_TIMEOUT_S = float(os.environ.get("REDIS_REQUEST_TIMEOUT_S", "0.5"))
    RATELIMIT_STORAGE_OPTIONS = {
        "socket_connect_timeout": REDIS_REQUEST_TIMEOUT_S,
        "socket_timeout": REDIS_REQUEST_TIMEOUT_S,
    }
    RATELIMIT_KEY_PREFIX = "coursecove-limits"

    # Identity sync from Clerk (docs/identity-sync.md). No webhook secret: the endpoint
    # answers 503. No CLERK_ISSUER + client id: sign-in stays Flask-AppBuilder's own.
    CLERK_WEBHOOK_SECRET = os.environ.get("CLERK_WEBHOOK_SECRET", "")
    CLERK_ISSUER = os.environ.get("CLERK_ISSUER", "")
    CLERK_OAUTH_CLIENT_ID = os.environ.get("CLERK_OAUTH_CLIENT_ID", "")
    CLERK_OAUTH_CLIENT_SECRET = os.environ.get("CLERK_OAUTH_CLIENT_SECRET", "")
    # Clerk organization role -> membership role; public_metadata[key] == "instructor"
    # turns a student into an instructor.
    CLERK_ROLE_MAP = {"org:admin": "admin", "org:member": "student"}
    CLERK_INSTRUCTOR_METADATA_KEY = "coursecove_role"
    WEBHOOK_FAST_PATH_BUDGET_MS = int(os.environ.get("WEBHOOK_FAST_PATH_BUDGET_MS", "500"))
    WEBHOOK_TASK_TIMEOUT_MS = int(os.environ.get("WEBHOOK_TASK_TIMEOUT_MS", "30000"))
    WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "12"))
    WEBHOOK_RETRY_BASE_S = float(os.environ.get("WEBHOOK_RETRY_BASE_S", "2"))
    WEBHOOK_RETRY_MAX_S = float(os.environ.get("WEBHOOK_RETRY_MAX_S", "3600"))
    WEBHOOK_SWEEP_AFTER_S = float(os.environ.get("WEBHOOK_SWEEP_AFTER_S", "60"))
    WEBHOOK_PROCESSING_LEASE_S = float(os.environ.get("WEBHOOK_PROCESSING_LEASE_S", "300"))
    WEBHOOK_PUBLISH_TIMEOUT_S = float(os.environ.get("WEBHOOK_PUBLISH_TIMEOUT_S", "0.25"))
    WEBHOOK_TASK_QUEUE = os.environ.get("WEBHOOK_TASK_QUEUE", "celery")
    # An e-mail or subdomain held by another Clerk object: retried this many attempts in all
    # (the older event that frees it usually lands within seconds), then failed.
    WEBHOOK_CONFLICT_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_CONFLICT_MAX_ATTEMPTS", "6"))
    # Stored deliveries lose their payload (personal data) after this; failed ones wait.
    WEBHOOK_PAYLOAD_RETENTION_DAYS = int(os.environ.get("WEBHOOK_PAYLOAD_RETENTION_DAYS", "30"))
    # Instructors' own calendars (docs/calendars.md): read by beat; never private addresses
    # unless EXTERNAL_CALENDAR_ALLOW_PRIVATE=1 (tests, a local development calendar).
    EXTERNAL_CALENDAR_ALLOW_PRIVATE = os.environ.get("EXTERNAL_CALENDAR_ALLOW_PRIVATE") == "1"
    EXTERNAL_CALENDAR_TIMEOUT_S = float(os.environ.get("EXTERNAL_CALENDAR_TIMEOUT_S", "10"))
    EXTERNAL_CALENDAR_MAX_BYTES = int(os.environ.get("EXTERNAL_CALENDAR_MAX_BYTES", "5000000"))
    # How often beat runs the outbox sweepers (webhook events, e-mails): the longest a row
    # waits after Redis comes back (docs/reliability.md).
    SWEEP_EVERY_S = float(os.environ.get("SWEEP_EVERY_S", "30"))
    CELERY_BEAT_SCHEDULE = {
        "sweep-pending-webhooks": {
            "task": "identity.sweep_pending_webhooks",
            "schedule": SWEEP_EVERY_S,
        },
        "cut-old-webhook-payloads": {
            "task": "identity.cut_old_webhook_payloads",
            "schedule": 3600.0,
        },
        "lesson-reminders": {"task": "notifications.queue_due_reminders", "schedule": 60.0},
        "sweep-notifications": {"task": "notifications.sweep", "schedule": SWEEP_EVERY_S},
        "instructor-calendars": {
            "task": "calendars.refresh_external_calendars",
            "schedule": float(os.environ.get("EXTERNAL_CALENDAR_REFRESH_S", "900")),
        },
    }

    @classmethod
    def finalize(cls, config: dict) -> None:
        """Check the secrets, then derive the application role's URL from the privileged one."""
        if config.get("REQUIRE_REAL_SECRETS"):
            missing = missing_secrets(config)
            if missing:
                raise SystemExit(
                    f"CourseCove will not start without a real {' and '.join(missing)}: set "
                    f"{'them' if len(missing) > 1 else 'it'} in the environment "
                    "(a long random value, e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'`)."
                )
        privileged = sqlalchemy_url(config.get("DATABASE_URL") or config["SQLALCHEMY_DATABASE_URI"])
        config["SQLALCHEMY_DATABASE_URI"] = privileged
        app_url = os.environ.get("APP_DATABASE_URL") or config.get("APP_DATABASE_URL")
        if not app_url:
            app_url = app_database_url(privileged, config["APP_DB_PASSWORD"])
        config["APP_DATABASE_URL"] = sqlalchemy_url(app_url)
        # Flask-SQLAlchemy applies SQLALCHEMY_ENGINE_OPTIONS to the default engine only.
        config["SQLALCHEMY_BINDS"] = {
            "app": {**config["SQLALCHEMY_ENGINE_OPTIONS"], "url": config["APP_DATABASE_URL"]}
        }
        config.setdefault("CELERY_BROKER_URL", "")
        if not config["CELERY_BROKER_URL"]:
            config["CELERY_BROKER_URL"] = config["REDIS_URL"]
        if not config.get("RATELIMIT_STORAGE_URI"):
            config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]


def missing_secrets(config: dict) -> list[str]:
    """The secrets still at their public development defaults (or empty / too short)."""
    missing = []
    if config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY) or len(config["SECRET_KEY"]) < 16:
        missing.append("SECRET_KEY")
    explicit_app_url = os.environ.get("APP_DATABASE_URL") or config.get("APP_DATABASE_URL")
    if not explicit_app_url and config.get("APP_DB_PASSWORD") in (None, "", DEV_APP_DB_PASSWORD):
        missing.append("APP_DB_PASSWORD")
    return missing


def config_from_environment() -> type[Config]:
    """``COURSECOVE_ENV=production`` selects ProductionConfig; anything else, Config."""
    return ProductionConfig if os.environ.get("COURSECOVE_ENV") == "production" else Config


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    APP_DOMAIN = "coursecove.test"
    # Tests sign in hundreds of times from one address; tests/security switch limits on.
    RATE_LIMITS = False
    # Generous, so that a loaded CI machine does not push a delivery off the fast path; the
    # tests of the budget itself set their own.
    WEBHOOK_FAST_PATH_BUDGET_MS = 2000
    # scrypt costs ~0.1 s a hash, and the suite signs in over a thousand times; tests prove
    # who may sign in, not the hash's strength. Production keeps FAB's default, scrypt.
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


class ProductionConfig(Config):
    REQUIRE_REAL_SECRETS = True
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
    APP_DOMAIN = os.environ.get("APP_DOMAIN", "coursecove.com")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
