"""Settings: defaults here, then instance/config.py, then COMMUNITY_* environment variables."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Mapping

DEFAULTS: dict[str, Any] = {
    # Database: SQLite (WAL) under instance/ unless DATABASE_URL is set.
    "SQLALCHEMY_DATABASE_URI": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # Sessions and cookies.
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
    "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 14,
    # Request bodies over 1 MiB are refused with 413.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
    # Werkzeug method string for password hashes ("scrypt" = n 2**15, r 8, p 1).
    "PASSWORD_HASH_METHOD": "scrypt",
    # Rate limits (Flask-Limiter syntax). Storage is memory unless a Redis URI is given.
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_HEADERS_ENABLED": True,
    "RATELIMIT_SIGNUP": "10 per hour",
    "RATELIMIT_LOGIN": "10 per minute;50 per hour",
    "RATELIMIT_POST": "20 per minute;300 per hour",
    # Live updates: set to redis://... to share events between several server processes.
    "SOCKETIO_MESSAGE_QUEUE": None,
    # Whole pages served to visitors without a session (views/page_cache.py). SimpleCache is per
    # process; with several processes use CACHE_TYPE "RedisCache" and CACHE_REDIS_URL.
    "CACHE_TYPE": "SimpleCache",
    "CACHE_DEFAULT_TIMEOUT": 60,
    "CACHE_THRESHOLD": 2000,
    "PAGE_CACHE_ENABLED": True,
    # Search: "whoosh" keeps the index under instance/search-index (or SEARCH_INDEX_PATH);
    # "memory" keeps it in RAM (tests).
    "SEARCH_BACKEND": "whoosh",
    "SEARCH_INDEX_PATH": None,
    # Who writes the whoosh index: "process", a child of each server process (Whoosh is pure
    # Python: writing there leaves the server's GIL to requests), or "thread", in the process.
    "SEARCH_INDEX_WRITER": "process",
    # The background indexer waits this long after a commit so a burst is indexed in one write;
    # the longer wait once a burst is under way (its last write had 10 threads or more).
    "SEARCH_INDEX_GATHER_SECONDS": 0.1,
    "SEARCH_INDEX_GATHER_MAX_SECONDS": 2.0,
    # Each server process, at its first request, compares the index with the database in the
    # background and re-indexes what a crash left missing or stale (a full read of the threads).
    "SEARCH_RECONCILE_AT_START": True,
    # The notifications worker likewise writes a burst of events' notifications at once.
    "NOTIFY_GATHER_SECONDS": 0.05,
    "NOTIFY_GATHER_MAX_SECONDS": 1.0,
    # Notifications owed by committed changes are rows until written. A server process takes up,
    # at its first request and this often, rows no process took this long after their commit
    # (their process died); None: no such rounds. A worker's claim on rows lasts the lease.
    "NOTIFY_RECOVERY_SECONDS": 10.0,
    "NOTIFY_LEASE_SECONDS": 60.0,
    # The bridge intake thread likewise gathers a burst of deliveries to take them in together.
    "BRIDGE_INTAKE_GATHER_SECONDS": 0.05,
    "BRIDGE_INTAKE_GATHER_MAX_SECONDS": 0.3,
    # Lists.
    "PAGE_SIZE": 30,
    "API_MAX_LIMIT": 100,
    # Post limits.
    "TITLE_MIN": 8,
    "TITLE_MAX": 200,
    "BODY_MAX": 30_000,
    "COMMENT_MAX": 2_000,
    "TAGS_MAX": 5,
    # Hosts whose images show inline in posts (`*.example.com` takes its subdomains too); an image
    # from any other host becomes a link to it, so reading a post tells no outside host who reads.
    "IMAGE_HOSTS": [],
    # A long post (over community.render.INLINE_MAX characters) still unrendered after this many
    # seconds is shown as typed, escaped, and its renderer's process is killed.
    "RENDER_TIME_LIMIT_SECONDS": 2.0,
    # Privileges by reputation.
    "REPUTATION_EDIT_OTHERS": 1000,
    "REPUTATION_DOWNVOTE": 50,
    # Moderation: open spam/abusive flags from this many distinct members hide a post or comment
    # at once, pending review; a flagger with at least MODERATION_FLAG_WEIGHT_REPUTATION counts
    # twice (None: everyone counts once).
    "MODERATION_AUTO_HIDE_FLAGS": 3,
    "MODERATION_FLAG_WEIGHT_REPUTATION": None,
    # New accounts (both: reputation below this, younger than this many hours) may put at most
    # MODERATION_NEW_ACCOUNT_LINKS links and no images in a post, post at RATELIMIT_POST_NEW,
    # and have every post scored by the spam checker.
    "MODERATION_NEW_ACCOUNT_REPUTATION": 10,
    "MODERATION_NEW_ACCOUNT_HOURS": 24,
    "MODERATION_NEW_ACCOUNT_LINKS": 2,
    "RATELIMIT_POST_NEW": "5 per minute;30 per hour",
    # The spam checker ("local": rules below, no network; "off"): a new account's post scoring
    # above the threshold is held for a moderator. Domains match their subdomains too; words
    # match whole words, case-blind.
    "MODERATION_SPAM_CHECKER": "local",
    "MODERATION_SPAM_THRESHOLD": 5.0,
    "MODERATION_BANNED_DOMAINS": [],
    "MODERATION_BANNED_WORDS": [],
    # The staff triage queue (docs/TRIAGE.md): minutes each source expects an answer within,
    # score weights, how long a claim holds, and the words that raise a thread.
    "TRIAGE_EXPECTATIONS": {"whatsapp": 60, "messenger": 60, "x": 60, "instagram": 60,
                            "mastodon": 240, "telegram": 240, "generic": 240, "web": 1440,
                            "api": 1440},
    "TRIAGE_WEIGHTS": {"waiting": 1.0, "urgent": 2.0, "negative": 1.5, "repeat": 0.5,
                       "needs_staff": 2.0, "vulnerable": 2.5, "follow_up": 0.5, "reopened": 1.0},
    "TRIAGE_CLAIM_MINUTES": 30,
    "TRIAGE_CANDIDATES": 500,   # the longest-waiting open threads that are scored per request
    "TRIAGE_REPEAT_HOURS": 48,
    "TRIAGE_URGENT_WORDS": [
        "cancelled", "canceled", "cancel", "stolen", "lost", "charged twice", "double charged",
        "overcharged", "refund", "no service", "no signal", "outage", "down", "not working",
        "doesn't work", "broken", "emergency", "urgent", "asap", "stuck", "stranded", "missed",
        "delayed", "locked out", "hacked", "fraud", "still waiting", "no reply", "no response",
        "never received", "wrong", "disconnected", "blocked", "ملغي", "ملغية", "ملغاة", "الغاء", "سرق", "مسروق",
        "ضاع", "مفقود", "خصم مرتين", "استرداد", "لا توجد خدمة", "لا يوجد ارسال", "انقطاع",
        "طوارئ", "عاجل", "لا يعمل", "معطل", "احتيال"],
    "TRIAGE_VULNERABLE_WORDS": [
        "desperate", "scared", "afraid", "hospital", "disabled", "elderly", "pregnant",
        "homeless", "can't afford", "cannot afford", "suicide", "crying", "alone", "danger",
        "خائف", "مستشفى", "يائس", "خطر", "مريض"],
    "TRIAGE_NEGATIVE_WORDS_AR": [
        "سيء", "سيئ", "سيئة", "اسوا", "زفت", "فاشل", "غاضب", "زعلان", "مشكلة", "مشكله",
        "تأخير", "متأخر", "ابدا", "للاسف", "مستاء", "احتيال", "نصب", "حرام", "خايس"],
    # Points per reputation event (services/reputation.py DEFAULT_POINTS), e.g. {"answer.upvoted": 8}.
    "REPUTATION_POINTS": {},
    # Ranks as [[threshold, name], ...], lowest first.
    "RANKS": [[1, "Newcomer"], [50, "Contributor"], [200, "Helper"], [1000, "Expert"], [5000, "Guru"]],
    # Notification email through SMTP; no MAIL_SERVER means no email is sent (in-app only).
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,          # STARTTLS after connecting
    "MAIL_USE_SSL": False,          # TLS from the start (usually port 465)
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": "Kestrel Community <community@localhost>",
    "MAIL_TIMEOUT": 10,
    # The social bridge. The outbox worker runs as a thread in the server ("thread") or only as
    # `community bridge worker` processes ("off" here).
    "BRIDGE_WORKER": "thread",
    # Webhooks store what arrived and answer at once; a background thread turns it into posts
    # ("background"), or the request does before answering ("inline").
    "BRIDGE_INTAKE": "background",
    # A webhook's channel (its settings and secrets) is read at most this often per process.
    "BRIDGE_CHANNEL_CACHE_SECONDS": 1.0,
    "BRIDGE_WORKER_INTERVAL": 2.0,
    # While a burst is being taken in, the outbox pauses this long between batches of 10 sends.
    "BRIDGE_BURST_SEND_PAUSE": 0.25,
    # Attempts before a reply is left failed for staff; backoff doubles from the first delay.
    "BRIDGE_MAX_ATTEMPTS": 8,
    "BRIDGE_RETRY_BASE_SECONDS": 5.0,
    "BRIDGE_RETRY_MAX_SECONDS": 3600.0,
    # A reply left `sending` this long is taken to be from a worker that died mid-send.
    "BRIDGE_SENDING_LEASE_SECONDS": 120,
    # A chat message without a reply reference joins the chat's open thread this long after.
    "BRIDGE_CONVERSATION_DAYS": 7,
    # Wrong link codes allowed in an hour, from one channel identity and from a whole channel;
    # past either, even the right code is refused until the hour has passed.
    "BRIDGE_LINK_FAILURES_PER_IDENTITY": 5,
    "BRIDGE_LINK_FAILURES_PER_CHANNEL": 50,
    # Messages WhatsApp, Messenger and Instagram date longer ago than this are kept for staff,
    # not taken in (outcome too_old): the platforms redeliver for a few days at most. 0: no limit.
    "BRIDGE_MAX_MESSAGE_AGE_HOURS": 24 * 7,
    # Let admins aim outbound requests (channel APIs, callbacks) at loopback and private networks.
    "WEBHOOKS_ALLOW_PRIVATE_TARGETS": False,
    # Outbound webhooks (docs/WEBHOOKS.md): the delivery worker runs as a thread of the server
    # ("thread") or only as `community webhooks worker` processes ("off").
    "WEBHOOKS_WORKER": "thread",
    "WEBHOOKS_WORKER_INTERVAL": 2.0,
    # Backoff after a failed delivery: doubling from the first delay, capped, with jitter.
    "WEBHOOKS_RETRY_BASE_SECONDS": 10.0,
    "WEBHOOKS_RETRY_MAX_SECONDS": 3600.0,
    # A delivery failing this long is given up (failed); a subscription whose deliveries all
    # failed this long is disabled and its admins told.
    "WEBHOOKS_GIVE_UP_HOURS": 24,
    "WEBHOOKS_TIMEOUT_SECONDS": 10.0,
    # A delivery left `sending` this long is taken to be from a worker that died mid-send.
    "WEBHOOKS_SENDING_LEASE_SECONDS": 60,
    # After a secret is rotated, the old one also signs deliveries this long.
    "WEBHOOKS_SECRET_GRACE_HOURS": 24,
    # The event log (the feed GET /api/v1/events, and what deliveries send) is kept this long.
    "EVENTS_RETENTION_DAYS": 30,
    # Accounts (services/account_recovery.py, avatars.py): how long a password-reset link and an
    # email-verification link work; how often one address or client may ask for a reset link,
    # and one account for another verification link.
    "PASSWORD_RESET_SECONDS": 60 * 60,
    "VERIFY_EMAIL_SECONDS": 7 * 24 * 60 * 60,
    "RATELIMIT_PASSWORD_RESET": "5 per hour",
    "RATELIMIT_VERIFY_EMAIL": "5 per hour",
    # Avatar uploads (PNG, JPEG or WebP): largest file, most pixels, and the stored square's side.
    "AVATAR_MAX_BYTES": 5 * 1024 * 1024,
    "AVATAR_MAX_PIXELS": 25_000_000,
    "AVATAR_SIZE": 256,
    # Public base URL used in links sent outside the site (emails, social replies).
    "BASE_URL": "http://127.0.0.1:5000",
}

ENV_PREFIX = "COMMUNITY_"


def _parse_env_value(raw: str) -> Any:
    """Environment values are JSON when they parse as JSON (numbers, booleans, null), else text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def load(app_config: dict[str, Any], instance_path: Path, overrides: Mapping[str, Any] | None) -> None:
    """Fill app_config from the three layers, then from a test mapping if one is given."""
    app_config.update(DEFAULTS)
    instance_file = instance_path / "config.py"
    if instance_file.exists():
        namespace: dict[str, Any] = {}
        exec(compile(instance_file.read_text(encoding="utf-8"), str(instance_file), "exec"), namespace)
        app_config.update({k: v for k, v in namespace.items() if k.isupper()})
    for key, raw in os.environ.items():
        if key.startswith(ENV_PREFIX):
            app_config[key[len(ENV_PREFIX):]] = _parse_env_value(raw)
    # Conventional names used by hosting platforms and by our README.
    for env_name, key in (("DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
                          ("SECRET_KEY", "SECRET_KEY"),
                          ("SOCKETIO_MESSAGE_QUEUE", "SOCKETIO_MESSAGE_QUEUE"),
                          ("RATELIMIT_STORAGE_URI", "RATELIMIT_STORAGE_URI")):
        if os.environ.get(env_name):
            app_config[key] = os.environ[env_name]
    if overrides:
        app_config.update(overrides)

    uri = app_config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        app_config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'community.db'}"
    elif uri.startswith("postgres://") or uri.startswith("postgresql://"):
        # Use psycopg 3, the driver we install.
        app_config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    if not app_config.get("SECRET_KEY"):
        app_config["SECRET_KEY"] = _instance_secret(instance_path)


def _instance_secret(instance_path: Path) -> str:
    """Generate the secret key once into instance/secret_key and reuse it afterwards."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_hex(32)
    # O_EXCL: when two processes start at once, one writes and the other reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
