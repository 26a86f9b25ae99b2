"""Password hashing (argon2) and sealing of stored secrets (Fernet keyed from the hub's secret)."""
from __future__ import annotations

import base64
import hashlib

from argon2 import PasswordHasher as Argon2
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet


class Argon2Passwords:
    def __init__(self) -> None:
        self._argon = Argon2()
        self._dummy = self._argon.hash("no such operator")

    def hash(self, password: str) -> str:
        return self._argon.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._argon.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._argon.check_needs_rehash(password_hash)


class FernetSealer:
    def __init__(self, *, secret: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def unseal(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()
