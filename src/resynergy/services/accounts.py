"""Users, passwords (argon2id), browser sessions, API tokens and sign-in throttling.

Session cookies and bearer tokens are random 256-bit strings; the database keeps only their
SHA-256, so a leaked database does not leak live credentials. Both are revocable.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.orm import Session

from resynergy.scenario.regions import province_code
from resynergy.services import audit, database
from resynergy.services.access import Actor
from resynergy.services.settings import Settings
from resynergy.store.models import ROLES, ApiToken, LoginSession, LoginThrottle, User, utcnow

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
# A few of the most common passwords (ASVS 6.2.4 asks for a check against a common list).
_COMMON = frozenset("""
password password1 password123 12345678 123456789 1234567890 qwerty123 qwertyuiop 11111111
00000000 88888888 abc12345 iloveyou admin123 administrator welcome1 passw0rd p@ssw0rd letmein1
a1234567 aa123456 abcd1234 1q2w3e4r 1qaz2wsx zaq12wsx woaini1314 5201314520 qwer1234 asdf1234
""".split())


class AccountError(ValueError):
    """A bad user or password value; ``field`` names the offending input. ``code`` and
    ``status`` are what the API answers with."""

    code, status = "invalid_account", 422

    def __init__(self, field: str, zh: str, en: str):
        self.field, self.zh, self.en = field, zh, en
        super().__init__(en)


class UsernameTaken(AccountError):
    code, status = "username_taken", 409

    def __init__(self) -> None:
        super().__init__("username", "用户名已存在", "username already exists")


class SelfLockout(AccountError):
    """An admin may not disable themself nor drop their own admin role (no one could undo it)."""

    code = "self_lockout"

    def __init__(self) -> None:
        super().__init__("active", "不能停用自己或取消自己的管理员角色",
                         "you cannot disable yourself or drop your own admin role")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(ts: datetime) -> datetime:
    """SQLite returns naive datetimes; they are stored as UTC."""
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


_Secret = TypeVar("_Secret", LoginSession, ApiToken)


def _live(db: Session, model: type[_Secret], token: str) -> _Secret | None:
    """The session or API token whose secret is ``token``, while it lives: not revoked, not
    expired, its user active."""
    if not token:
        return None
    row = db.scalar(sa.select(model).where(model.token_hash == _hash_token(token)))
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= utcnow() or not row.user.active:
        return None
    return row


class Accounts:
    """Account operations bound to the platform settings (hash cost, lifetimes, throttling)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.hasher = PasswordHash((Argon2Hasher(time_cost=settings.argon2_time_cost,
                                                 memory_cost=settings.argon2_memory_kib,
                                                 parallelism=settings.argon2_parallelism),))
        self.throttle = SignInThrottle(settings)
        # verified against when the user does not exist, so timing does not reveal usernames
        self._dummy_hash = self.hasher.hash(secrets.token_hex(16))

    # ---- users --------------------------------------------------------------------------
    def check_password(self, password: str) -> None:
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise AccountError("password", f"密码长度应为 {MIN_PASSWORD}–{MAX_PASSWORD} 个字符",
                               f"password must be {MIN_PASSWORD}–{MAX_PASSWORD} characters long")
        if password.lower() in _COMMON:
            raise AccountError("password", "密码过于常见，请换一个", "password is too common; choose another")

    def create_user(self, db: Session, by: Actor, username: str, password: str, role: str,
                    org_uscc: str = "", province: str = "", display_name: str = "") -> User:
        if not USERNAME.match(username):
            raise AccountError("username", "用户名应为 3–64 个字母、数字或 _.@-",
                               "username must be 3–64 letters, digits or _.@-")
        if db.scalar(sa.select(User.id).where(User.username == username)) is not None:
            raise UsernameTaken()
        if role not in ROLES:
            raise AccountError("role", f"角色应为：{', '.join(ROLES)}", f"role must be one of: {', '.join(ROLES)}")
        if role == "enterprise" and not org_uscc:
            raise AccountError("org_uscc", "企业用户须指定所属单位（统一社会信用代码）",
                               "an enterprise user needs an organisation (USCC)")
        if province and province_code(province) != province:  # a province code, not a prefecture
            raise AccountError("province", "省份应为 6 位省级行政区划代码（如 130000）",
                               "province must be a 6-digit province code (e.g. 130000)")
        self.check_password(password)
        user = User(username=username, password_hash=self.hasher.hash(password), role=role,
                    org_uscc=org_uscc if role == "enterprise" else "", province=province,
                    display_name=display_name or username)
        db.add(user)
        db.flush()
        audit.record(db, by, "user_create", "user", user.id, after=user_record(user))
        return user

    def update_user(self, db: Session, by: Actor, user: User, **changes: object) -> User:
        """Change ``user``; a change left out (or None) keeps its value."""
        if user.id == by.user_id and (changes.get("active") is False or changes.get("role") not in (None, "admin")):
            raise SelfLockout()
        before = user_record(user)
        password = changes.pop("password", None)
        if password is not None:
            self.check_password(str(password))
            user.password_hash = self.hasher.hash(str(password))
        for key, value in changes.items():
            if value is not None:
                setattr(user, key, value)
        if user.role not in ROLES:
            raise AccountError("role", f"角色应为：{', '.join(ROLES)}", f"role must be one of: {', '.join(ROLES)}")
        if user.role == "enterprise" and not user.org_uscc:
            raise AccountError("org_uscc", "企业用户须指定所属单位", "an enterprise user needs an organisation")
        if not user.active or password is not None:
            self.revoke_all(db, user.id)  # disabled or re-keyed users lose every session and token
        db.flush()
        audit.record(db, by, "user_update", "user", user.id, before=before,
                     after={**user_record(user), **({"password": "changed"} if password else {})})
        return user

    # ---- sign-in ------------------------------------------------------------------------
    def authenticate(self, db: Session, username: str, password: str, ip: str) -> User | None:
        """The user when the password is right; audits success, failure and throttling.

        Raises Throttled after too many failures (the caller should still commit the audit event).
        """
        self.throttle.check(db, username, ip)  # refused attempts are not audited: a block bounds them
        user = db.scalar(sa.select(User).where(User.username == username))
        if user is None:
            self.hasher.verify(password, self._dummy_hash)
            ok = False
        else:
            ok, new_hash = self.hasher.verify_and_update(password, user.password_hash)
            if ok and new_hash:
                user.password_hash = new_hash
            ok = ok and user.active
        actor = Actor(user.id if user else None, username[:64], user.role if user else "", ip=ip)
        audit.record(db, actor, "login" if ok else "login_failed", "user", user.id if user else "")
        if not ok:
            if self.throttle.fail(db, username, ip):
                audit.record(db, actor, "login_throttled", "user", user.id if user else "")
            return None
        self.throttle.succeed(db, username, ip)
        return user

    def start_session(self, db: Session, user: User, ip: str) -> tuple[str, LoginSession]:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        s = LoginSession(token_hash=_hash_token(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                         created_at=now, last_seen=now,
                         expires_at=now + timedelta(hours=self.settings.session_hours), ip=ip[:64])
        db.add(s)
        db.flush()
        return token, s

    def session_for(self, db: Session, token: str) -> LoginSession | None:
        """The live session for a cookie value (idle and absolute timeouts applied)."""
        s = _live(db, LoginSession, token)
        now = utcnow()
        if s is None:
            return None
        if _aware(s.last_seen) + timedelta(minutes=self.settings.session_idle_minutes) <= now:
            return None
        if (now - _aware(s.last_seen)).total_seconds() > 60:  # limit writes to one a minute
            s.last_seen = now
        return s

    def end_session(self, db: Session, s: LoginSession) -> None:
        s.revoked_at = utcnow()

    def revoke_token(self, db: Session, by: Actor, token: str) -> bool:
        """End the API token ``token`` (audited); False when it is no live token."""
        t = self.token_for(db, token)
        if t is None:
            return False
        t.revoked_at = utcnow()
        audit.record(db, by, "token_revoke", "api_token", t.id)
        return True

    def issue_token(self, db: Session, user: User, name: str = "") -> tuple[str, ApiToken]:
        token = secrets.token_urlsafe(32)
        t = ApiToken(token_hash=_hash_token(token), user_id=user.id, name=name[:64],
                     expires_at=utcnow() + timedelta(days=self.settings.token_days))
        db.add(t)
        db.flush()
        return token, t

    def token_for(self, db: Session, token: str) -> ApiToken | None:
        return _live(db, ApiToken, token)

    def revoke_all(self, db: Session, user_id: int) -> None:
        now = utcnow()
        db.execute(sa.update(LoginSession).where(LoginSession.user_id == user_id,
                                                 LoginSession.revoked_at.is_(None)).values(revoked_at=now))
        db.execute(sa.update(ApiToken).where(ApiToken.user_id == user_id,
                                             ApiToken.revoked_at.is_(None)).values(revoked_at=now))

    def ensure_admin(self, db: Session, password: str, username: str = "admin") -> User | None:
        """Create the first admin (when there is no admin yet); None when one exists."""
        if has_admin(db):
            return None
        system = Actor(None, "system", "admin")
        return self.create_user(db, system, username, password, "admin", display_name="管理员 Administrator")


def has_admin(db: Session) -> bool:
    return db.scalar(sa.select(User.id).where(User.role == "admin").limit(1)) is not None


def list_users(db: Session, role: str | None = None, limit: int | None = None,
               offset: int = 0) -> tuple[list[User], int]:
    """Users in the order they were created (of one role when given): a page of them, and how
    many there are in all."""
    q = sa.select(User) if role is None else sa.select(User).where(User.role == role)
    return database.page(db, q, User.id, limit=limit, offset=offset)


def find_user(db: Session, user_id: int | None, username: str = "") -> User | None:
    """The user of ``user_id``, else of ``username``; None when neither names one."""
    if user_id is not None:
        return db.get(User, user_id)
    return db.scalar(sa.select(User).where(User.username == username)) if username else None


def command_actor(db: Session, username: str = "", ip: str = "cli") -> Actor | None:
    """Whom a command acts as: the user named, else the first admin; None when there is no
    such user or the user is disabled."""
    q = sa.select(User).where(User.username == username) if username else \
        sa.select(User).where(User.role == "admin").order_by(User.id).limit(1)
    user = db.scalar(q)
    return actor_of(user, ip) if user is not None and user.active else None


def actor_of(user: User, ip: str = "") -> Actor:
    return Actor(user.id, user.username, user.role, user.org_uscc, user.province, ip)


def user_record(user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
            "org_uscc": user.org_uscc, "province": user.province, "active": user.active}


class Throttled(Exception):
    """Too many failed sign-ins; ``retry_after`` seconds until the next attempt is allowed."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins; retry after {retry_after} s")


class SignInThrottle:
    """Failed sign-ins kept in the database (so every server process agrees), per account with
    exponential back-off, and per client address as a coarse second line.

    - Account: after ``login_max_failures`` failures, each further failure doubles the wait
      (``login_backoff_s`` × 2^k, at most ``login_backoff_max_s``); a success clears it. An attacker
      can slow one account down but never lock everyone out of it for long.
    - Address: ``login_ip_max_failures`` failures within ``login_window_s`` (a much higher limit, as
      an office or a proxy shares one address) block that address for the window.
    - Size: a row expires once its last failure is older than the window and no block is running;
      expired rows are deleted on every failure, so unknown names do not accumulate. Refused
      attempts during a block are not written at all (neither here nor in the audit log).
    """

    def __init__(self, settings: Settings, clock=utcnow):
        self.settings, self.clock = settings, clock

    @staticmethod
    def _keys(username: str, ip: str) -> tuple[str, str]:
        return f"user:{username.lower()[:150]}", f"ip:{ip[:150]}"

    def check(self, db: Session, username: str, ip: str) -> None:
        """Raise Throttled while the account or the address is blocked."""
        now = self.clock()
        until = db.scalars(sa.select(LoginThrottle.blocked_until).where(
            LoginThrottle.key.in_(self._keys(username, ip)), LoginThrottle.blocked_until > now)).all()
        if until:
            raise Throttled(max(1, math.ceil((max(_aware(u) for u in until) - now).total_seconds())))

    def _count(self, db: Session, key: str, now: datetime) -> int:
        """Add one failure to ``key`` atomically; the failures counted so far."""
        bump = sa.update(LoginThrottle).where(LoginThrottle.key == key).values(
            failures=LoginThrottle.failures + 1, last_at=now).returning(LoginThrottle.failures)
        count = db.scalar(bump)
        if count is not None:
            return int(count)
        try:
            with db.begin_nested():
                db.add(LoginThrottle(key=key, failures=1, first_at=now, last_at=now))
            return 1
        except sa.exc.IntegrityError:  # another process inserted it meanwhile
            return int(db.scalar(bump) or 1)

    def fail(self, db: Session, username: str, ip: str) -> bool:
        """Count a failure; True when it starts a block (worth one audit event)."""
        s, now = self.settings, self.clock()
        window = timedelta(seconds=s.login_window_s)
        db.execute(sa.delete(LoginThrottle).where(
            LoginThrottle.last_at < now - window,
            sa.or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now)))
        user_key, ip_key = self._keys(username, ip)
        blocked = False
        n = self._count(db, user_key, now)
        if n >= s.login_max_failures:
            wait = min(s.login_backoff_s * 2 ** (n - s.login_max_failures), s.login_backoff_max_s)
            db.execute(sa.update(LoginThrottle).where(LoginThrottle.key == user_key).values(
                blocked_until=now + timedelta(seconds=wait)))
            blocked = True
        if self._count(db, ip_key, now) >= s.login_ip_max_failures:
            db.execute(sa.update(LoginThrottle).where(LoginThrottle.key == ip_key).values(
                blocked_until=now + window))
            blocked = True
        return blocked

    def succeed(self, db: Session, username: str, ip: str) -> None:
        db.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == self._keys(username, ip)[0]))
