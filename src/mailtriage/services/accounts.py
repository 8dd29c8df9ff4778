"""Staff accounts: argon2 password hashes and API tokens (stored as sha256, shown once)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from mailtriage.errors import UsageError
from mailtriage.store.database import Database
from mailtriage.store.models import User

_hasher = PasswordHasher()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(db: Database, name: str, password: str, *, with_token: bool = False) -> str | None:
    """Create a staff account; returns the API token when one was asked for."""
    name = name.strip()
    if not name or len(name) > 200:
        raise UsageError("A user name must have 1 to 200 characters.")
    token = secrets.token_urlsafe(32) if with_token else None
    with db.session() as s:
        if s.scalar(select(User).where(User.name == name)) is not None:
            raise UsageError(f"A staff account named {name!r} already exists.")
        s.add(User(name=name, password_hash=_hasher.hash(password),
                   api_token_hash=token_hash(token) if token else None))
    return token


def verify_password(db: Database, name: str, password: str) -> User | None:
    """The active user when name and password match, else None (constant work either way)."""
    with db.session() as s:
        user = s.scalar(select(User).where(User.name == name, User.active.is_(True)))
        if user is None:
            with contextlib.suppress(VerificationError, InvalidHashError):
                _hasher.verify(_DUMMY_HASH, password)
            return None
        try:
            _hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user


def user_for_token(db: Database, token: str) -> User | None:
    with db.session() as s:
        return s.scalar(select(User).where(User.api_token_hash == token_hash(token),
                                           User.active.is_(True)))


_DUMMY_HASH = _hasher.hash("not-a-real-password")
