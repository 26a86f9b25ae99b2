"""Card keys in a PKCS#11 key store (加密机; SoftHSM2 in tests), implementing the CardKeyService port.

An AES-256 master key is generated inside the token, sensitive and non-extractable, labelled {key_label}-v{n}.
A card's key is derived inside the token for each call (AES_ECB_ENCRYPT_DATA over the card no., a session object
that vanishes with the session) and the MAC is an AES-CMAC computed and checked inside the token. Rotation adds a
version; MACs are made under the newest one and checked under every version, so older MACs still verify."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.types import DeriveMixin, SignMixin, VerifyMixin

from payhub.cards.domain.cards import check_card_no
from payhub.kernel.domain.errors import Conflict, InvalidInput, Unavailable

_LOCKED = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False}
_MAC = Mechanism.AES_CMAC


@dataclass(frozen=True)
class MasterKeyVersion:
    """One master key in the token as `payhub keys status` shows it (no key material, which never leaves)."""

    version: int
    label: str
    sensitive: bool
    extractable: bool
    current: bool


def derivation_data(card_no: str) -> bytes:
    """The 32 bytes a card key is derived from: the card no. in ASCII, left-padded with '0'."""
    return check_card_no(card_no).encode().rjust(32, b"0")


class Pkcs11CardKeys:
    """CardKeyService over one PKCS#11 token; the PIN is kept only to open sessions and is never shown."""

    def __init__(self, *, module: str, token_label: str, pin: str, key_label: str) -> None:
        self._module = module
        self._token_label = token_label
        self._pin = pin
        self._key_label = key_label
        self._version_label = re.compile(re.escape(key_label) + r"-v([0-9]+)")

    def __repr__(self) -> str:
        return f"Pkcs11CardKeys(token={self._token_label!r}, key_label={self._key_label!r})"

    @contextmanager
    def _session(self) -> Iterator[pkcs11.Session]:
        try:
            token = pkcs11.lib(self._module).get_token(token_label=self._token_label)
            session = token.open(user_pin=self._pin, rw=True)
        except (pkcs11.PKCS11Error, RuntimeError) as error:  # RuntimeError: the module could not be loaded
            raise Unavailable("HSM_UNAVAILABLE", reason=type(error).__name__) from None
        with session:
            yield session

    def _masters(self, session: pkcs11.Session) -> dict[int, pkcs11.SecretKey]:
        found: dict[int, pkcs11.SecretKey] = {}
        for key in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.TOKEN: True}):
            assert isinstance(key, pkcs11.SecretKey)  # what the CLASS filter asks for
            match = self._version_label.fullmatch(key.label or "")
            if match:
                found[int(match.group(1))] = key
        return dict(sorted(found.items()))

    def _generate(self, session: pkcs11.Session, version: int) -> None:
        session.generate_key(KeyType.AES, 256, label=f"{self._key_label}-v{version}", store=True,
                             capabilities=MechanismFlag.DERIVE, template=_LOCKED)

    def init(self) -> bool:
        """Generate master key version 1 unless the token holds one; True if it was generated now."""
        with self._session() as session:
            if self._masters(session):
                return False
            self._generate(session, 1)
            return True

    def rotate(self) -> int:
        """Generate the next master key version (older ones stay, for verifying); returns the new version."""
        with self._session() as session:
            masters = self._masters(session)
            if not masters:
                raise Conflict("HSM_NO_MASTER_KEY", label=self._key_label)
            version = max(masters) + 1
            self._generate(session, version)
            return version

    def status(self) -> list[MasterKeyVersion]:
        """The master key versions in the token, oldest first."""
        with self._session() as session:
            masters = self._masters(session)
            newest = max(masters, default=0)
            return [MasterKeyVersion(version, key.label, bool(key[Attribute.SENSITIVE]),
                                     bool(key[Attribute.EXTRACTABLE]), version == newest)
                    for version, key in masters.items()]

    @staticmethod
    def _card_key(master: pkcs11.SecretKey, card_no: str) -> pkcs11.SecretKey:
        # python-pkcs11 builds each key's class at run time with a mixin per capability; its types say only SecretKey
        assert isinstance(master, DeriveMixin)
        return master.derive_key(KeyType.AES, 256, mechanism=Mechanism.AES_ECB_ENCRYPT_DATA,
                                 mechanism_param=derivation_data(card_no),
                                 capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY, template=_LOCKED)

    def card_mac(self, *, card_no: str, data: bytes) -> str:
        """AES-CMAC (hex) over data under the card's key derived from the newest master key."""
        with self._session() as session:
            masters = self._masters(session)
            if not masters:
                raise Conflict("HSM_NO_MASTER_KEY", label=self._key_label)
            key = self._card_key(masters[max(masters)], card_no)
            assert isinstance(key, SignMixin)
            return key.sign(data, mechanism=_MAC).hex()

    def verify_card_mac(self, *, card_no: str, data: bytes, mac: str) -> bool:
        """True if mac is the card's MAC over data under any master key version (newest tried first)."""
        try:
            expected = bytes.fromhex(mac)
        except ValueError:
            raise InvalidInput("VALIDATION", detail="mac: hex digits") from None
        with self._session() as session:
            masters = self._masters(session)
            return any(self._verifies(master, card_no, data, expected) for master in reversed(masters.values()))

    def _verifies(self, master: pkcs11.SecretKey, card_no: str, data: bytes, mac: bytes) -> bool:
        key = self._card_key(master, card_no)
        assert isinstance(key, VerifyMixin)
        return key.verify(data, mac, mechanism=_MAC)
