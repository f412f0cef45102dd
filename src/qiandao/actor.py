"""Who runs a command: :class:`Actor`, an account acting in one role, jurisdiction and unit."""

from __future__ import annotations

import attrs

from qiandao.errors import InvalidInput
from qiandao.model import RoleGrant
from qiandao.rules.publication import Viewer
from qiandao.rules.roles import Role

__all__ = ["Actor"]


def _identifier(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise InvalidInput(f"{attribute.name} 须为非空文本（不超过128字符）", field=attribute.name)


def _role(value: object) -> Role:
    return Role.parse(value, "role")


@attrs.frozen
class Actor:
    """Who runs a command: a person's account acting in one role grant (role, jurisdiction, unit).

    ``account_id`` is the person's account: every actor of one person shares it.
    """

    account_id: str = attrs.field(validator=_identifier)
    role: Role = attrs.field(converter=_role)
    jurisdiction: str = attrs.field(validator=_identifier)
    unit_id: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_identifier)
    )

    @property
    def grant(self) -> RoleGrant:
        """The role grant this actor acts in (a person with several grants has one actor each)."""
        return RoleGrant(self.role, self.jurisdiction, self.unit_id)

    def viewer(self) -> Viewer:
        """The actor as the visibility rule sees it."""
        return Viewer(self.account_id, self.role, self.jurisdiction, self.unit_id)
