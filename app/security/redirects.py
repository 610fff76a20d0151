"""Where a ``next`` parameter may send someone: only to a path on the host they are on."""

from __future__ import annotations

from urllib.parse import urlsplit


def is_local_path(target: str) -> bool:
    """True for ``/book/3?x=1``; false for anything a browser could read as another host:
    ``//evil.com``, ``/\\evil.com``, ``https:evil.com``, and paths with control characters
    (browsers drop tabs and newlines, so ``/\\t/evil.com`` becomes ``//evil.com``)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this host, else ``default``."""
    return target if target and is_local_path(target) else default
