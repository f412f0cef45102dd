"""Pure rules of the workflow: no I/O, no clock, no storage.

Lifecycle tables, approval tiers, deadlines, rating, publication and visibility, points, and the
RuleSet a jurisdiction configures. The working-day calendar is :mod:`qiandao.calendar`.
"""

from qiandao.calendar import ChinaWorkdays, DeadlineExplanation, load_schedule
from qiandao.rules.deadlines import (
    DeadlineRules,
    DeadlineStatus,
    Due,
    WorkdayCalendar,
    classify,
)
from qiandao.rules.diagram import lifecycle_diagram
from qiandao.rules.lifecycle import (
    ASSIGNMENT_TRANSITIONS,
    ITEM_TRANSITIONS,
    AssignmentCommand,
    AssignmentState,
    ItemCommand,
    ItemState,
    allowed_assignment_commands,
    allowed_item_commands,
    next_assignment_state,
    next_item_state,
)
from qiandao.rules.points import PointsTable, points, rank, scores
from qiandao.rules.publication import Access, access, is_published
from qiandao.rules.rating import Rating, RatingRules
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import RuleSet
from qiandao.rules.tiers import Destination, TierRules, check_signer, required_signer

__all__ = [
    "ASSIGNMENT_TRANSITIONS",
    "ITEM_TRANSITIONS",
    "Access",
    "AssignmentCommand",
    "AssignmentState",
    "ChinaWorkdays",
    "DeadlineExplanation",
    "DeadlineRules",
    "DeadlineStatus",
    "Destination",
    "Due",
    "ItemCommand",
    "ItemState",
    "PointsTable",
    "Rating",
    "RatingRules",
    "Role",
    "RuleSet",
    "TierRules",
    "WorkdayCalendar",
    "access",
    "allowed_assignment_commands",
    "allowed_item_commands",
    "check_signer",
    "classify",
    "is_published",
    "lifecycle_diagram",
    "load_schedule",
    "next_assignment_state",
    "next_item_state",
    "points",
    "rank",
    "required_signer",
    "scores",
]
