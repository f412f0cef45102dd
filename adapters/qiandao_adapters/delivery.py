"""Credential deliveries for tests and the demo: record new passwords, or print them.

A production host plugs in its own :class:`~qiandao.ports.security.CredentialDelivery`, normally
an SMS to the person's mobile number. The password goes to the person, never to the
administrator who registered or unlocked the account (三员分立).
"""

from __future__ import annotations

import sys
import threading
from typing import NamedTuple, TextIO

from qiandao.model import Account

__all__ = ["ConsoleDelivery", "Delivered", "RecordingDelivery"]


class Delivered(NamedTuple):
    """One password handed over: to whom (account id and phone) and what."""

    account_id: str
    phone: str
    password: str


class RecordingDelivery:
    """Keeps every delivered password in memory, like a test phone (thread-safe).

    ``fail_next(n)`` makes the next ``n`` deliveries raise ``ConnectionError`` (nothing recorded),
    so a test can watch the command change nothing.

    >>> delivery = RecordingDelivery()
    >>> delivery.sent
    []
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures_left = 0
        self.sent: list[Delivered] = []
        """Every delivery, in order."""

    def deliver(self, account: Account, phone: str, password: str) -> None:
        """Record the password sent to ``phone``; or fail, if told to."""
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                raise ConnectionError(f"模拟短信发送失败：{phone[-4:]}")
            self.sent.append(Delivered(account.id, phone, password))

    def fail_next(self, times: int = 1) -> None:
        """Make the next ``times`` deliveries raise ``ConnectionError``."""
        if times < 0:
            raise ValueError("times must be >= 0")
        with self._lock:
            self._failures_left = times

    def password_of(self, phone: str) -> str:
        """The last password delivered to ``phone`` (``KeyError`` if none)."""
        with self._lock:
            for delivered in reversed(self.sent):
                if delivered.phone == phone:
                    return delivered.password
        raise KeyError(phone)

    def phone_of(self, account_id: str) -> str:
        """The phone the last password for ``account_id`` went to (``KeyError`` if none): what a
        test knows of a person whose returned account shows the number masked."""
        with self._lock:
            for delivered in reversed(self.sent):
                if delivered.account_id == account_id:
                    return delivered.phone
        raise KeyError(account_id)


class ConsoleDelivery:
    """Prints each new password as the SMS the person would get (for the demo; never production).

    ``stream`` defaults to standard output at the time of each delivery.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def deliver(self, account: Account, phone: str, password: str) -> None:
        """Print the message for ``phone``."""
        stream = self._stream if self._stream is not None else sys.stdout
        print(
            f"【短信 → {phone}】{account.real_name}您好，您的初始密码为 {password}，"
            "首次登录须修改。",
            file=stream,
        )
