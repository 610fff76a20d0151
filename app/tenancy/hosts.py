"""Which school a Host header names.

``musicschool.<APP_DOMAIN>`` is a school, ``<APP_DOMAIN>`` itself is the platform. Anything
else (another domain, nested subdomains, junk) is not ours and gets a 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUBDOMAIN_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_SUBDOMAINS = frozenset(
    {
        "www",
        "api",
        "admin",
        "app",
        "mail",
        "static",
        "platform",
        "help",
        "support",
        "status",
        "blog",
        "docs",
        "assets",
        "cdn",
        "auth",
        "login",
        "webhooks",
    }
)


@dataclass(frozen=True)
class HostTarget:
    """What a request's host points at: the platform, a school's subdomain, or nothing of ours."""

    is_platform: bool = False
    subdomain: str | None = None

    @property
    def is_ours(self) -> bool:
        return self.is_platform or self.subdomain is not None


NOT_OURS = HostTarget()


def subdomain_problem(subdomain: str) -> str | None:
    """Why ``subdomain`` cannot name a school, or ``None`` when it can."""
    if not subdomain:
        return "A subdomain is required."
    if not SUBDOMAIN_PATTERN.match(subdomain):
        return (
            "Use 1–63 lowercase letters, digits and hyphens, not starting or ending with a hyphen."
        )
    if subdomain in RESERVED_SUBDOMAINS:
        return f"'{subdomain}' is reserved; please choose another subdomain."
    return None


def _strip_port(host: str) -> str:
    return host.rsplit(":", 1)[0] if re.fullmatch(r".+:\d{1,5}", host) else host


def parse_host(host: str | None, app_domain: str) -> HostTarget:
    """Map a Host header onto the platform or a school subdomain (ports are ignored)."""
    if not host:
        return NOT_OURS
    host = _strip_port(host.strip().lower().rstrip("."))
    domain = _strip_port(app_domain.lower())
    if host == domain:
        return HostTarget(is_platform=True)
    suffix = "." + domain
    if not host.endswith(suffix):
        return NOT_OURS
    subdomain = host[: -len(suffix)]
    if subdomain == "www":
        return HostTarget(is_platform=True)
    if subdomain_problem(subdomain) is not None:
        return NOT_OURS
    return HostTarget(subdomain=subdomain)
