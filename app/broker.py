"""The Celery broker transport: kombu's Redis transport, made to survive a Redis restart.

Why it exists (celery 5.7.0, kombu 5.7.0, redis-py 8.1.0; no released version fixes it):
when the worker loses Redis, celery's consumer first *collects* its connection, which makes
kombu forget the broker's address, and then *closes* it. Closing the channel tries to put the
messages the worker holds unacknowledged (delayed retries, ``acks_late`` tasks) back on their
queues through the forgotten address: ``AttributeError: 'NoneType' object has no attribute
'hostname'``, "Unrecoverable error", the worker exits. (celery 5.6.3 does not close after
collecting, so it survives, but Redis is down at that moment and the messages stay parked in
kombu's ``unacked`` hash until the visibility timeout, an hour, brings them back.)

Here a channel that cannot reach Redis while putting its messages back remembers their
delivery tags, and the next channel this process opens once Redis answers again puts exactly
those messages back on their queues (``restore_by_tag`` reads them from Redis's ``unacked``
hash, so Redis must keep its data across the restart: AOF, see docs/deployment.md). Putting a
message back twice is harmless: the second attempt finds it gone from the hash.

Selected with ``broker_transport = "app.broker:Transport"`` (app/tasks.py).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable

import redis
from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)

# Errors that mean "Redis is not answering", as opposed to a bug.
BROKER_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

_lock = threading.Lock()
_held_when_lost: dict[str, None] = {}  # delivery tags, in delivery order
# A forked pool process holds no messages of its own.
os.register_at_fork(after_in_child=_held_when_lost.clear)


def _remember(tags: Iterable[str]) -> None:
    with _lock:
        _held_when_lost.update(dict.fromkeys(tags))


def _take_remembered() -> list[str]:
    with _lock:
        tags = list(_held_when_lost)
        _held_when_lost.clear()
    return tags


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client=None) -> None:
        """Put the messages this channel holds back on their queues, or, when Redis cannot be
        reached (or the connection was already collected), remember them for later."""
        if not self._delivered:
            return
        tags = list(self._delivered)
        transport = self.channel.connection
        if transport is None or transport.client is None:
            self._keep_for_later(tags)
            return
        try:
            super().restore_unacked(client)
        except BROKER_UNREACHABLE:
            self._keep_for_later(tags)

    def _keep_for_later(self, tags: list[str]) -> None:
        _remember(tags)
        self._delivered.clear()
        log.warning(
            "Broker unreachable: %d unacknowledged message(s) will be put back on their "
            "queues when it answers again",
            len(tags),
        )


class Channel(kombu_redis.Channel):
    QoS = QoS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)  # raises when Redis does not answer its PING
        self._restore_remembered()

    def _restore_remembered(self) -> None:
        tags = _take_remembered()
        if not tags:
            return
        restored = 0
        try:
            for tag in tags:
                self.qos.restore_by_tag(tag)
                restored += 1
        except BROKER_UNREACHABLE:
            _remember(tags[restored:])  # gone again: the next channel tries the rest
        log.warning(
            "Broker back: %d message(s) held when it was lost put back on their queues",
            restored,
        )


class Transport(kombu_redis.Transport):
    Channel = Channel
