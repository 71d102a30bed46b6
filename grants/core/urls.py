"""Redirect targets: only paths on this site, never another host."""

from urllib.parse import urlsplit


def safe_next(target, default="/"):
    """``target`` if it is a local path, else ``default``. Refuses //host, schemes and backslashes."""
    if not target or not isinstance(target, str):
        return default
    target = target.strip()
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
