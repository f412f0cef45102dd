"""The notifier port: how notices leave the system (SMS gateway, 浙政钉, e-mail, a queue)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs

__all__ = ["Notice", "Notifier"]


@attrs.frozen
class Notice:
    """A message to people; ``id`` is the event id, so a repeat delivery can be dropped."""

    id: str
    kind: str
    recipients: tuple[str, ...]
    text: str
    at: datetime
    item_id: str | None = None


class Notifier(Protocol):
    """Delivers a notice; raising means "not delivered", and it will be tried again."""

    def send(self, notice: Notice) -> None:
        """Deliver ``notice`` to its recipients once it returns; raise if it was not delivered.

        Delivery is at least once: a notice may come again after a failure or a crash, and
        ``notice.id`` is the same every time, so a receiver can drop repeats.
        """
        ...
