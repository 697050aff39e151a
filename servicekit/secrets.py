"""A key ring for secrets the platform must be able to read back but never keep in the clear (webhook signing secrets).

Fernet (AES-128-CBC with HMAC-SHA256, from the `cryptography` package) under a MultiFernet: the first key of the
ring encrypts, every key decrypts. That is the whole rotation story: put a new key in front, keep the old one
behind it until everything stored was re-encrypted (`reencrypt`), then drop it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# What Fernet.generate_key() writes: 32 bytes in url-safe base64. Checked as text, because Fernet's own check
# decodes leniently (characters outside the alphabet are skipped), so a mistyped key could still be accepted.
_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]{43}=")


class UndecryptableSecret(Exception):
    """No key of the ring decrypts this token: it was encrypted under a key not configured, or altered."""


def new_key() -> str:
    """A fresh random key, as SCHULDENLAB_SECRETS_KEY (or the state directory's secrets.key) holds it."""
    return Fernet.generate_key().decode("ascii")


class KeyRing:
    """One or more keys, newest first. Never shows a key: not in repr, not in any error message."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("no key given")
        for position, key in enumerate(keys, start=1):
            if not _KEY_TEXT.fullmatch(key):
                where = f"key {position} of {len(keys)}" if len(keys) > 1 else "the key"
                raise ValueError(f"{where} is not a Fernet key (44 characters of url-safe base64 encoding 32 random "
                                 "bytes; `schuldenlab secrets new-key` prints one)")
        self._newest = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])
        self._count = len(keys)

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Keys separated by commas, newest first (surrounding blanks and a final newline are ignored)."""
        keys = [part.strip() for part in text.strip().split(",")]
        if any(not key for key in keys):
            raise ValueError("an empty entry between commas: expected keys separated by commas, newest first")
        return cls(keys)

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"KeyRing({self._count} key{'s' if self._count != 1 else ''})"

    def encrypt(self, plaintext: str) -> str:
        return self._all.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._all.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeEncodeError):
            raise UndecryptableSecret("no configured key decrypts this secret") from None

    def is_current(self, token: str) -> bool:
        """Whether `token` is encrypted under the newest key already (then re-encrypting it changes nothing)."""
        try:
            self._newest.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def reencrypt(self, token: str) -> str:
        """The same secret, encrypted under the newest key; UndecryptableSecret if no key decrypts it."""
        try:
            return self._all.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError):
            raise UndecryptableSecret("no configured key decrypts this secret") from None
