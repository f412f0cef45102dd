"""The entry object a host creates: :class:`Qiandao`, every command of the regulation."""

from __future__ import annotations

from qiandao._accounts import AccountCommands
from qiandao._audit import audit_methods
from qiandao._feed import FeedCommands
from qiandao._feedback import FeedbackCommands
from qiandao._handling import HandlingCommands
from qiandao._jobs import JobCommands
from qiandao._lanes import LaneCommands
from qiandao._planning import PlanCommands
from qiandao._review import ReviewCommands
from qiandao._similar import SimilarCommands
from qiandao._topics import TopicCommands
from qiandao._units import UnitCommands

__all__ = ["Qiandao"]


@audit_methods
class Qiandao(
    ReviewCommands,
    HandlingCommands,
    FeedbackCommands,
    JobCommands,
    LaneCommands,
    PlanCommands,
    AccountCommands,
    UnitCommands,
    FeedCommands,
    SimilarCommands,
    TopicCommands,
):
    """The workflow service: create it with a store, a clock and the rules, then call commands.

    Each command checks role, jurisdiction and state, applies the rules, saves with an optimistic
    version check, records its events and notices atomically, and dispatches after commit.
    """
