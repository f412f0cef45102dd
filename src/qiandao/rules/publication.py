"""Publication and visibility of 第十四条.

Publication is derived, never stored: adopted, not 涉密, and no author opted out.
"""

from __future__ import annotations

from collections.abc import Collection

import attrs

from qiandao._enum import LabelledEnum
from qiandao.rules.lifecycle import ADOPTED_STATES, ItemState
from qiandao.rules.roles import ADMIN_ROLES, OFFICE_ROLES, Role

__all__ = ["Access", "AccessFacts", "Viewer", "access", "is_published"]


def is_published(state: ItemState, *, secret: bool, opted_out: Collection[str]) -> bool:
    """Published iff adopted (issued or later), not 涉密, and no author opted out.

    ``opted_out`` holds the authors who refused publication (``Item.opted_out``).
    """
    return state in ADOPTED_STATES and not secret and not opted_out


class Access(LabelledEnum):
    """How much of an item a viewer may see, in increasing order."""

    NONE = "none", "不可见"
    PUBLISHED = "published", "公开稿"
    ISSUED_TEXT = "issued_text", "签发稿（交办内容）"
    FULL = "full", "全部内容"


@attrs.frozen
class Viewer:
    """The asking actor, as far as visibility cares."""

    account_id: str
    """Id of the account asking."""
    role: Role
    """The role the actor acts in (the session's grant)."""
    jurisdiction: str
    """Code of the jurisdiction of that grant."""
    unit_id: str | None = None
    """The handling unit of a unit grant (``None`` for other roles)."""


@attrs.frozen
class AccessFacts:
    """What visibility needs to know of an item."""

    author_ids: frozenset[str]
    """Account ids of the item's authors (lead author and co-authors)."""
    jurisdiction: str
    """Code of the jurisdiction (政协) the item belongs to."""
    assigned_unit_ids: frozenset[str]
    """Ids of the handling units the item is assigned to (they see its issued text)."""
    secret: bool
    """Whether the item is 涉密: only authors and the need-to-know list see it."""
    published: bool
    """Whether the item is published (every signed-in person may read it)."""
    need_to_know: frozenset[str] = frozenset()
    """Account ids allowed to see a 涉密 item besides its authors (need-to-know list)."""
    author_only: bool = False
    """Whether the item is a draft or withdrawn (``AUTHOR_ONLY_STATES``): its authors' alone."""


def access(viewer: Viewer, facts: AccessFacts) -> Access:
    """The access level of ``viewer`` to an item.

    Administrators see no content; a draft or a withdrawn item is its authors' alone; authors and
    their jurisdiction's office see everything (for 涉密 items only office staff on the
    need-to-know list besides the editor, deputy and signers of that jurisdiction); a unit sees the
    issued text of items assigned to it; a system integration account (数据中心, 检索系统) reads
    its jurisdiction's items that are neither drafts nor 涉密 as the office does (``FULL``); anyone
    signed in sees published items.
    """
    if viewer.role in ADMIN_ROLES:
        return Access.NONE
    if facts.author_only:
        return Access.FULL if viewer.account_id in facts.author_ids else Access.NONE
    if viewer.role is Role.INTEGRATION and facts.secret:
        return Access.NONE  # a non-classified system never receives 涉密 content (保密法)
    if viewer.role is Role.INTEGRATION and viewer.jurisdiction == facts.jurisdiction:
        return Access.FULL
    if viewer.account_id in facts.author_ids or viewer.account_id in facts.need_to_know:
        return Access.FULL
    if viewer.role in OFFICE_ROLES and viewer.jurisdiction == facts.jurisdiction:
        return Access.FULL
    if (
        viewer.role is Role.HANDLING_UNIT
        and viewer.unit_id is not None
        and viewer.unit_id in facts.assigned_unit_ids
    ):
        return Access.ISSUED_TEXT
    if facts.published and not facts.secret:
        return Access.PUBLISHED
    return Access.NONE
