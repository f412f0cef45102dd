"""The notifier port: how notices leave the system (SMS gateway, 浙政钉, e-mail, a queue)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs

__all__ = ["Notice", "Notifier"]


@attrs.frozen(weakref_slot=False)
class Notice:
    """A message to people; ``id`` is the event id, so a repeat delivery can be dropped."""

    id: str
    """Id of the event that caused it, so a repeated delivery can be dropped."""
    kind: str
    """The event kind's value (e.g. ``submitted``)."""
    recipients: tuple[str, ...]
    """Recipient names: account ids, unit groups or role groups (see ``recipients``)."""
    text: str
    """The message, in Chinese (a fixed text for 涉密 items)."""
    at: datetime
    """When the event happened (an aware datetime)."""
    item_id: str | None = None
    """Id of the item concerned, if any."""


class Notifier(Protocol):
    """Delivers a notice; raising means "not delivered", and it will be tried again."""

    def send(self, notice: Notice) -> None:
        """Deliver ``notice`` to its recipients once it returns; raise if it was not delivered.

        Delivery is at least once: a notice may come again after a failure or a crash, and
        ``notice.id`` is the same every time, so a receiver can drop repeats.
        """
        ...
