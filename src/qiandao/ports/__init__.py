"""The ports: Protocols a host (or an adapter of ours) implements.

The service talks to storage, time, notification and identity only through these, so a host can
plug in its own database, message bus, single sign-on or text analysis. Each store port has a
contract suite in :mod:`qiandao.testing`.
"""

from qiandao.ports.analysis import TextAnalyzer
from qiandao.ports.clock import Clock
from qiandao.ports.crypto import Cipher, KeyProvider, Sealed
from qiandao.ports.notify import Notice, Notifier
from qiandao.ports.security import CredentialDelivery, IdentityProvider, PasswordHasher
from qiandao.ports.store import (
    AccountRepository,
    AssignmentQuery,
    AttentionQuery,
    CommissionRepository,
    EventRepository,
    IdempotencyRecord,
    IdempotencyRepository,
    ItemOrder,
    ItemQuery,
    ItemRepository,
    OutboxMessage,
    OutboxRepository,
    PlanRepository,
    SessionRepository,
    SimilarityRepository,
    Store,
    UnitOfWork,
    UnitRepository,
)

__all__ = [
    "AccountRepository",
    "AssignmentQuery",
    "AttentionQuery",
    "Cipher",
    "Clock",
    "CommissionRepository",
    "CredentialDelivery",
    "EventRepository",
    "IdempotencyRecord",
    "IdempotencyRepository",
    "IdentityProvider",
    "ItemOrder",
    "ItemQuery",
    "ItemRepository",
    "KeyProvider",
    "Notice",
    "Notifier",
    "OutboxMessage",
    "OutboxRepository",
    "PasswordHasher",
    "PlanRepository",
    "Sealed",
    "SessionRepository",
    "SimilarityRepository",
    "Store",
    "TextAnalyzer",
    "UnitOfWork",
    "UnitRepository",
]
