"""A unit-of-work wrapper that delegates everything, for tests that intercept one part of it."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self


class DelegatingUnitOfWork:
    """Passes every attribute and the context protocol to ``inner``; subclasses override parts."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)
