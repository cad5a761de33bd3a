"""Pseudonyms: the only key a mood row carries.

HMAC-SHA256 of ``platform:user_id`` under a secret pepper. Without the pepper a mood
row cannot be linked to a person; with it the link is recomputed, never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

PEPPER_BYTES = 32


class PepperError(Exception):
    """The pepper is missing, unreadable or too exposed to trust."""


class Pseudonymizer:
    """Turns a platform identity into its stable pseudonym."""

    def __init__(self, pepper: bytes) -> None:
        if len(pepper) < 16:
            raise PepperError("the pepper must be at least 16 bytes long")
        self._pepper = pepper

    def __call__(self, platform: str, user_id: str) -> str:
        """The pseudonym (64 hex characters) of ``platform:user_id``."""
        message = f"{platform}:{user_id}".encode()
        return hmac.new(self._pepper, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "Pseudonymizer(pepper=***)"


def load_pepper(env_value: str | None, key_file: Path) -> bytes:
    """The pepper from ``KILN_PEPPER``, else from ``key_file`` (made on first run, 0600).

    Raises:
        PepperError: if the key file can be read by anyone but its owner, or is empty.
    """
    if env_value:
        return env_value.encode()
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two workers starting together must not both write a different key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(PEPPER_BYTES))
            logger.info("created a new pepper key file at %s (keep it safe and private)", key_file)
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise PepperError(
            f"the pepper key file {key_file} can be read by others (mode {mode:o}); "
            f"run: chmod 600 {key_file}"
        )
    pepper = key_file.read_text().strip()
    if not pepper:
        raise PepperError(f"the pepper key file {key_file} is empty")
    return pepper.encode()
