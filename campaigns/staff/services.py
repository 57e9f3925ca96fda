"""Staff accounts: creation, sign-in with lockout, password changes and resets, two-factor."""

from __future__ import annotations

import contextlib
import enum
import hashlib
import secrets
import string
from dataclasses import dataclass

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select, update

from campaigns.audit.services import NOBODY
from campaigns.audit.services import record as audit
from campaigns.core.db import utcnow
from campaigns.core.events import record_event
from campaigns.core.redis import get_redis, key
from campaigns.extensions import db
from campaigns.staff import passwords, totp
from campaigns.staff.models import Role, SiteSetting, StaffUser, new_session_token

REQUIRE_TWO_FACTOR = "require_two_factor"
_RESET_SALT = "staff-password-reset"


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message is for the person who asked."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> StaffUser | None:
    return db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))


def generate_password() -> str:
    """A random password for a new account (printed once by the command line)."""
    alphabet = string.ascii_letters + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(6)) for _ in range(4))


def create_staff(
    email: str,
    password: str,
    role: Role,
    *,
    name: str = "",
    network_id: int | None = None,
    actor: StaffUser | None = None,
) -> StaffUser:
    """Create an account (the caller commits). The password must pass the policy."""
    email = normalise_email(email)
    if find_by_email(email) is not None:
        raise AccountError(f"an account with the email {email} already exists")
    if role == Role.COORDINATOR and network_id is None:
        raise AccountError("a coordinator must belong to a network")
    problem = passwords.password_problem(password, user_inputs=[email, name])
    if problem:
        raise AccountError(problem)
    user = StaffUser(
        email=email,
        name=name,
        role=role,
        network_id=network_id if role == Role.COORDINATOR else None,
        password_hash=passwords.hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    audit(
        "staff.created",
        target=user,
        actor=actor,
        detail={"email": email, "role": str(role), "network_id": user.network_id},
    )
    return user


def update_staff(
    user: StaffUser,
    *,
    email: str,
    name: str,
    role: Role,
    network_id: int | None,
    is_active: bool,
    actor: StaffUser,
) -> None:
    """Apply an admin's changes (the caller commits). A change of access signs the account out
    everywhere, so it takes effect at once."""
    new = {
        "email": normalise_email(email),
        "name": name,
        "role": role,
        "network_id": network_id if role == Role.COORDINATOR else None,
        "is_active": is_active,
    }
    changes = {
        field: {"from": _plain(getattr(user, field)), "to": _plain(value)}
        for field, value in new.items()
        if getattr(user, field) != value
    }
    if not changes:
        return
    for field, value in new.items():
        setattr(user, field, value)
    if changes.keys() & {"email", "role", "network_id", "is_active"}:
        user.session_token = new_session_token()
    audit("staff.updated", target=user, actor=actor, detail=changes)


def _plain(value: object) -> object:
    return str(value) if isinstance(value, enum.Enum) else value


# --- Settings --------------------------------------------------------------------------------


def get_setting(name: str, default: object = None) -> object:
    setting = db.session.get(SiteSetting, name)
    return default if setting is None else setting.value


def set_setting(name: str, value: object, actor: StaffUser) -> None:
    setting = db.session.get(SiteSetting, name) or SiteSetting(key=name)
    before = setting.value
    setting.value, setting.updated_at, setting.updated_by_id = value, utcnow(), actor.id
    db.session.add(setting)
    audit("settings.changed", actor=actor, detail={"key": name, "from": before, "to": value})


def two_factor_required() -> bool:
    return bool(get_setting(REQUIRE_TWO_FACTOR, False))


# --- Sign-in -----------------------------------------------------------------------------------


class LoginOutcome(enum.Enum):
    OK = "ok"
    NEEDS_CODE = "needs_code"
    INVALID = "invalid"
    LOCKED = "locked"


@dataclass
class LoginResult:
    outcome: LoginOutcome
    user: StaffUser | None = None


def _failure_key(email: str) -> str:
    # Keyed by a digest of the address typed, whether or not an account has it: a locked-out
    # address and an unknown one look the same from outside.
    digest = hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]
    return key("staff-login-failures", digest)


def _is_locked(email: str) -> bool:
    try:
        failures = int(get_redis().get(_failure_key(email)) or 0)
    except Exception:  # noqa: BLE001 - Redis down: the per-IP limit and argon2's cost remain
        return False
    return failures >= current_app.config["STAFF_LOGIN_MAX_FAILURES"]


def _count_failure(email: str) -> None:
    with contextlib.suppress(Exception):  # see _is_locked
        pipe = get_redis().pipeline()
        pipe.incr(_failure_key(email))
        pipe.expire(_failure_key(email), current_app.config["STAFF_LOGIN_LOCKOUT_MINUTES"] * 60)
        pipe.execute()


def _clear_failures(email: str) -> None:
    with contextlib.suppress(Exception):  # see _is_locked
        get_redis().delete(_failure_key(email))


def check_password(email: str, password: str) -> LoginResult:
    """The first step of signing in. Unknown addresses, wrong passwords and deactivated accounts
    give the same INVALID answer, after the same work."""
    if _is_locked(email):
        passwords.spend_verification_time(password)
        return LoginResult(LoginOutcome.LOCKED)
    user = find_by_email(email)
    if user is None:
        passwords.spend_verification_time(password)
        _count_failure(email)
        return LoginResult(LoginOutcome.INVALID)
    if not passwords.verify_password(user.password_hash, password) or not user.is_active:
        _count_failure(email)
        audit("staff.login_failed", target=user, actor=NOBODY, detail={"step": "password"})
        return LoginResult(LoginOutcome.INVALID)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if user.totp_enabled:
        return LoginResult(LoginOutcome.NEEDS_CODE, user)
    return LoginResult(LoginOutcome.OK, user)


def check_code(user: StaffUser, code: str) -> bool:
    """The second step: a TOTP code, each accepted once. Failures count towards the lockout."""
    if _is_locked(user.email):
        return False
    step = totp.accepted_step(user.totp_secret, code, user.totp_last_step)
    # Spend the code with a conditional update: of two requests racing with the same code, one
    # wins.
    spent = step is not None and (
        db.session.execute(
            update(StaffUser)
            .where(
                StaffUser.id == user.id,
                or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
            )
            .values(totp_last_step=step),
            execution_options={"synchronize_session": False},
        ).rowcount
        == 1
    )
    if not spent:
        _count_failure(user.email)
        audit("staff.login_failed", target=user, actor=NOBODY, detail={"step": "code"})
        return False
    user.totp_last_step = step
    return True


def record_login(user: StaffUser) -> None:
    _clear_failures(user.email)
    user.last_login_at = utcnow()
    audit("staff.login", target=user, actor=user)


# --- Passwords ---------------------------------------------------------------------------------


def set_password(user: StaffUser, password: str, *, actor: StaffUser) -> None:
    """Change the password (already checked against the policy); ends every other session and
    voids reset links. The caller commits."""
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    user.session_token = new_session_token()
    audit("staff.password_changed", target=user, actor=actor)


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)


def make_reset_token(user: StaffUser) -> str:
    # Bound to the session token, which the reset changes: the link works once.
    return _reset_serializer().dumps({"id": user.id, "t": user.session_token[:12]})


def user_for_reset_token(token: str) -> StaffUser | None:
    try:
        data = _reset_serializer().loads(
            token, max_age=current_app.config["STAFF_PASSWORD_RESET_MAX_AGE"]
        )
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(StaffUser, data.get("id")) if isinstance(data, dict) else None
    if user is None or not user.is_active:
        return None
    if not secrets.compare_digest(user.session_token[:12], str(data.get("t", ""))):
        return None
    return user


def request_password_reset(email: str, locale: str) -> None:
    """Queue the reset for this address, whether or not an account has it: the worker looks the
    account up, mails the link and writes the audit entry. The request does the same work either
    way, so its timing does not tell which addresses belong to staff."""
    record_event(
        "staff.password_reset_requested",
        email=normalise_email(email),
        locale=locale,
        ip_address=request.remote_addr if has_request_context() else None,
    )


def record_reset_request(user: StaffUser, ip_address: str | None) -> None:
    """The audit entry of a reset request, written by the worker, with the requester's address."""
    entry = audit("staff.password_reset_requested", target=user, actor=NOBODY)
    entry.ip_address = ip_address


# --- Two-factor --------------------------------------------------------------------------------


def enable_two_factor(user: StaffUser, secret: str, code: str) -> bool:
    step = totp.accepted_step(secret, code, None)
    if step is None:
        return False
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, utcnow(), step
    user.session_token = new_session_token()  # sessions opened without the code end
    audit("staff.two_factor_enabled", target=user)
    return True


def disable_two_factor(user: StaffUser, *, actor: StaffUser) -> None:
    """The caller commits; and for one's own account, first checks the password again."""
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    user.session_token = new_session_token()
    audit("staff.two_factor_disabled", target=user, actor=actor)


def count_admins() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(StaffUser)
        .where(StaffUser.role == Role.ADMIN, StaffUser.is_active.is_(True))
    )
