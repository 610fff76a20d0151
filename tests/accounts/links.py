"""Helpers for account flows: links read from the real SMTP server's mailbox, and the pages
they open. (Fresh addresses that are cleaned up: the ``people`` fixture in tests/conftest.py.)"""

from __future__ import annotations

import re
from email.message import Message
from urllib.parse import urlsplit

from tests.conftest import Mailbox, Visitor, body

LINK = re.compile(r"https?://\S+/(?:welcome|reset-password)/[A-Za-z0-9_\-]+")


def link_in(message: Message) -> str:
    found = LINK.search(body(message))
    assert found, f"no link in:\n{body(message)}"
    return found.group(0)


def path_of(url: str) -> str:
    return urlsplit(url).path


def only_mail_to(mailbox: Mailbox, address: str, count: int = 1) -> Message:
    mailbox.wait_for(count)
    messages = mailbox.to(address)
    assert len(messages) == count, [m["Subject"] for m in messages]
    return messages[-1]


def choose_password(visitor: Visitor, link: str, password: str):
    return visitor.post(path_of(link), data={"password": password, "confirm": password})


def signs_in(visitor: Visitor, email: str, password: str) -> bool:
    response = visitor.post("/login/", data={"username": email, "password": password})
    return response.status_code == 302 and "/login" not in response.headers.get("Location", "")
