"""What each command decides, as named pure functions, one module per chapter of the regulation.

Each command is ``(context, actor, facts…) -> Decision``: it reads no clock, opens no store and
sends nothing. :class:`~qiandao.Qiandao` loads the facts, calls one function here and hands the
decision to its one command runner (load → decide → evolve → save with a version check → events
→ outbox → commit → dispatch).

=============  ==========================================================
module         articles
=============  ==========================================================
``intake``     第四、五、七条: drafts, submission, revision, withdrawal
``review``     第六、九条: 初审, the deputy's review, sign-off, merge
``handling``   第十、十二条: assignment, decline, extensions, reply, rating
``feedback``   第七、十一、十四、十五、二十条: feedback, publication, secrecy,
               reporting up, commissions, closing
``jobs``       第十、十二条: reminders, closing rating windows, recomputed deadlines
``accounts``   第十六至十九条: registration, sign-in, sessions, theft, departure
=============  ==========================================================
"""

from __future__ import annotations

from qiandao.workflow.context import Context, Decision

__all__ = ["Context", "Decision"]
