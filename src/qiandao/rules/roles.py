"""Who acts: the roles of the regulation (第二、六、九、十、十七条)."""

from __future__ import annotations

from qiandao._enum import LabelledEnum

__all__ = [
    "ADMIN_ROLES",
    "OFFICE_ROLES",
    "SIGNER_ROLES",
    "SUBMITTER_ROLES",
    "Role",
]


class Role(LabelledEnum):
    """A role in a grant (role, jurisdiction, unit): a person holds one or more grants and acts
    under one of them at a time (第九、十六条)."""

    MEMBER = "member", "政协委员"
    INFO_OFFICER = "info_officer", "特邀信息员"
    CONTACT_POINT = "contact_point", "社情民意信息联系点"
    ORGANISATION = "organisation", "参加单位/专门委员会/县（区）政协（集体报送）"
    EDITOR = "editor", "信息工作人员"
    DEPUTY = "deputy", "办公室分管领导"
    OFFICE_HEAD = "office_head", "办公室主要负责人"
    SECRETARY_GENERAL = "secretary_general", "市政协秘书长"
    CHAIR = "chair", "市政协主席"
    HANDLING_UNIT = "handling_unit", "承办单位"
    INTEGRATION = "integration", "系统对接账号"
    SYSTEM_ADMIN = "system_admin", "系统管理员"
    SECURITY_ADMIN = "security_admin", "安全管理员"
    AUDIT_ADMIN = "audit_admin", "审计管理员"


SUBMITTER_ROLES = frozenset({Role.MEMBER, Role.INFO_OFFICER, Role.CONTACT_POINT, Role.ORGANISATION})
SIGNER_ROLES = (Role.OFFICE_HEAD, Role.SECRETARY_GENERAL, Role.CHAIR)  # lowest tier first
OFFICE_ROLES = frozenset({Role.EDITOR, Role.DEPUTY, *SIGNER_ROLES})
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
