"""Platform settings, read once from ``RESYNERGY_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from resynergy.store.db import database_url


def _env(name: str, default: str) -> str:
    return os.environ.get(f"RESYNERGY_{name}", default)


def _flag(name: str, default: bool) -> bool:
    return _env(name, "true" if default else "false").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=database_url)
    cookie_secure: bool = False  # set RESYNERGY_COOKIE_SECURE=true behind HTTPS
    session_hours: float = 8.0  # absolute session lifetime
    session_idle_minutes: float = 60.0
    token_days: float = 30.0  # API bearer tokens
    # argon2id cost (OWASP: m=19 MiB, t=2 is the floor; pwdlib recommends m=64 MiB, t=3, p=4)
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # sign-in throttling (services.accounts.SignInThrottle): per account, failures before the
    # back-off starts, its first wait and its longest; per address, a coarse higher limit
    login_max_failures: int = 5
    login_backoff_s: float = 30.0
    login_backoff_max_s: float = 900.0
    login_ip_max_failures: int = 100
    login_window_s: float = 900.0  # failures older than this (and no block running) are forgotten
    # reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs); none by default
    trusted_proxies: tuple[str, ...] = ()
    upload_max_bytes: int = 20 * 1024 * 1024
    import_retention_days: float = 30.0  # rejected uploads keep their error workbook this long
    import_quota_bytes: int = 50 * 1024 * 1024  # error workbooks kept per user (oldest dropped first)
    run_workers: int = 1  # planning runs solved at the same time
    run_time_limit_s: float = 600.0
    run_queue_per_user: int = 1  # queued runs a user may have waiting beyond the workers
    worker_poll_s: float = 0.5
    expose_docs: bool = True  # serve the OpenAPI document at /api/v1/openapi.json
    # manifest alerts (exchange.alerts.Policy): weight deviation tolerance (issue #12 default 5 %;
    # no Chinese rule found, notes/manifests.md §1.6) and the receipt limit in working days
    manifest_weight_tolerance: float = 0.05
    manifest_receipt_days: int = 5

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        s = cls(
            cookie_secure=_flag("COOKIE_SECURE", False),
            session_hours=float(_env("SESSION_HOURS", "8")),
            argon2_time_cost=int(_env("ARGON2_TIME_COST", "3")),
            argon2_memory_kib=int(_env("ARGON2_MEMORY_KIB", "65536")),
            argon2_parallelism=int(_env("ARGON2_PARALLELISM", "4")),
            upload_max_bytes=int(_env("UPLOAD_MAX_BYTES", str(20 * 1024 * 1024))),
            import_retention_days=float(_env("IMPORT_RETENTION_DAYS", "30")),
            import_quota_bytes=int(_env("IMPORT_QUOTA_BYTES", str(50 * 1024 * 1024))),
            run_workers=int(_env("RUN_WORKERS", "1")),
            run_time_limit_s=float(_env("RUN_TIME_LIMIT_S", "600")),
            expose_docs=_flag("EXPOSE_DOCS", True),
            trusted_proxies=tuple(p.strip() for p in _env("TRUSTED_PROXIES", "").split(",") if p.strip()),
            run_queue_per_user=int(_env("RUN_QUEUE_PER_USER", "1")),
            manifest_weight_tolerance=float(_env("MANIFEST_WEIGHT_TOLERANCE", "0.05")),
            manifest_receipt_days=int(_env("MANIFEST_RECEIPT_DAYS", "5")),
        )
        return replace(s, **overrides)  # type: ignore[arg-type]
