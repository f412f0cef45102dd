"""The reference portal: a server-rendered Starlette application on the embedding kit.

Every request names its actor by ``authenticate`` (the session cookie), every page shows only
the buttons ``allowed_actions`` gives, every form is CSRF-checked and becomes the method's
keyword arguments through ``qiandao.json.arguments``, every view is rendered from
``qiandao.json.to_json``, every refusal answers with its own ``http_status``, and every page
carries the 第十八条 watermark from ``Qiandao.watermark``. Nothing here decides a rule.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qiandao import (
    Actor,
    AnalysisUnavailable,
    AuditQuery,
    GrantRequired,
    ItemCommand,
    ItemView,
    PasswordChangeRequired,
    PermissionDenied,
    Qiandao,
    QiandaoError,
    Role,
    RoleGrant,
    SessionExpired,
    request_context,
)
from qiandao.json import arguments, to_json
from qiandao.rules.roles import OFFICE_ROLES, SUBMITTER_ROLES
from qiandao_portal.forms import ACTION_FORMS, DRAFT_FIELDS, Form, form_body, forms_for
from qiandao_portal.security import (
    PRE_COOKIE,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SignInThrottle,
    csrf_token,
    csrf_valid,
    new_secret,
)

__all__ = ["create_app"]

LOG = logging.getLogger("qiandao_portal")
HERE = Path(__file__).parent
GRANTS_COOKIE = "qd_grants"
_ROLE_CODES = frozenset(r.value for r in Role)
INTERNAL = {"code": "portal.internal", "message": "系统内部错误，请稍后重试"}
"""What a fault shows: no trace, no exception text, nothing of the request."""
TOO_MANY_SIGN_INS = {"code": "portal.too_many_sign_ins", "message": "登录失败次数过多，请稍后再试"}

Handler = Callable[["Page", Request, Mapping[str, Sequence[str]]], Response]


class Page:
    """What one request knows: the service, the browser's tokens and (once checked) the actor."""

    def __init__(self, portal: Portal, request: Request) -> None:
        self.portal = portal
        self.qd = portal.qd
        self.request = request
        self.token = request.cookies.get(SESSION_COOKIE)
        self.pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
        self._actor: Actor | None = None

    @property
    def actor(self) -> Actor:
        """The session's actor, checked against the store on every request (``authenticate``)."""
        if self._actor is None:
            if not self.token:
                raise SessionExpired("请先登录")
            self._actor = self.qd.authenticate(self.token)
        return self._actor

    def offered(self) -> Actor:
        """The actor, on a page that is one of their role's links (``_nav``): another role's
        page (the 系统管理 form for a member, a submission form for the 三员) is refused
        before it shows anything, rather than shown with forms the library would refuse."""
        actor = self.actor
        if all(href != self.request.url.path for href, _ in _nav(actor)):
            raise PermissionDenied("当前角色不使用此页面")
        return actor

    @property
    def csrf(self) -> str:
        """The token this browser's forms carry."""
        return csrf_token(self.portal.secret, self.token or self.pre)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        """A page: the template with the actor's navigation, watermark and CSRF token."""
        actor = self._actor
        context.update(
            csrf=self.csrf,
            me=actor,
            role=actor.role if actor else None,
            nav=_nav(actor) if actor else [],
            watermark=self.qd.watermark(actor) if actor else "",
            notice=_notice(self.request.query_params.get("done", "")),
        )
        response = self.portal.templates.TemplateResponse(
            self.request, template, context, status_code=status
        )
        return response


class Portal:
    """The application: routes wrapped so that each runs in a worker thread under the
    request's audit context, with CSRF checked on every POST and auth errors redirected."""

    def __init__(
        self,
        qd: Qiandao,
        *,
        secret: bytes | None = None,
        client: str,
        throttle: SignInThrottle | None = None,
    ) -> None:
        self.qd = qd
        self.secret = secret or new_secret()
        self.client = client
        self.throttle = throttle or SignInThrottle()
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self.templates.env.filters["when"] = _when
        self.templates.env.globals["forms_for"] = forms_for

    def route(self, path: str, handler: Handler, methods: Sequence[str] = ("GET",)) -> Route:
        """``handler(page, request, form)`` as a route (form is empty for GET)."""

        async def endpoint(request: Request) -> Response:
            page = Page(self, request)
            form: Mapping[str, Sequence[str]] = {}
            run = handler
            if request.method == "POST":
                posted = await request.form(max_files=0)  # no form of the portal takes a file
                form = _multi(posted)
                if not csrf_valid(self.secret, page.token or page.pre, _one(form, "csrf")):
                    run = _refusal(403, "portal.csrf", "跨站请求被拒绝，请刷新页面后重试")
            response = await run_in_threadpool(self._run, run, page, request, form)
            return _finish(page, response)

        return Route(path, endpoint, methods=list(methods))

    async def http_error(self, request: Request, error: Exception) -> Response:
        """Starlette's own refusals (no such page: 404, a GET to a form's address: 405) as
        the portal's error page, with the watermark and navigation of a signed-in person."""
        status = error.status_code if isinstance(error, HTTPException) else 500
        page = Page(self, request)
        handler = _refusal(status, f"portal.http_{status}", _HTTP_MESSAGES.get(status, "无法完成"))
        response = await run_in_threadpool(self._run, handler, page, request, {})
        if isinstance(error, HTTPException) and error.headers:
            response.headers.update(error.headers)  # e.g. a 405's Allow
        return _finish(page, response)

    def _run(
        self,
        handler: Handler,
        page: Page,
        request: Request,
        form: Mapping[str, Sequence[str]],
    ) -> Response:
        host = request.client.host if request.client else None
        with request_context(source_address=host, client=self.client, request_id=uuid.uuid4().hex):
            try:
                return handler(page, request, form)
            except SessionExpired:
                return _redirect("/login")
            except PasswordChangeRequired:
                return _redirect("/password")
            except GrantRequired:
                return _redirect("/role")
            except QiandaoError as error:
                return page.render("error.html", error.http_status, error=error.as_dict())
            except Exception:  # a fault, not a refusal: logged here, never shown to the browser
                LOG.exception("portal fault on %s %s", request.method, request.url.path)
                return page.render("error.html", 500, error=INTERNAL)


class SecurityHeaders:
    """ASGI middleware: the security headers on every response, static files included; a fault
    that escapes everything else still answers here (a bare 500 with the headers), not in
    Starlette's outer error handler, which would send none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if https:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if started:
                raise
            LOG.exception("portal fault on %s", scope.get("path"))
            fault = Response(INTERNAL["message"], 500, media_type="text/plain")
            await fault(scope, receive, sending)


_HTTP_MESSAGES = {
    400: "请求格式不正确",
    404: "页面不存在",
    405: "不支持此请求方式",
    413: "提交的内容过大",
}


def _refusal(status: int, code: str, message: str) -> Handler:
    """A handler answering the portal's own refusal as its error page; the person's watermark
    and links too when a full session exists (第十八条: every page names its viewer)."""

    def refuse(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
        with contextlib.suppress(QiandaoError):
            _ = page.actor
        return page.render("error.html", status, error={"code": code, "message": message})

    return refuse


MAX_BODY_BYTES = 2 * 1024 * 1024
"""The largest request body read: every form, a 20,000-character body escaped, fits many times."""


class BodyLimit:
    """ASGI middleware: a request body past ``MAX_BODY_BYTES`` is refused (413) as it arrives,
    before the form parser holds it: Starlette's limits are per field (1 MB, 1,000 fields),
    so one unsigned POST could otherwise make the process hold a gigabyte."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def receiving() -> Message:
            nonlocal received
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > self.limit:
                raise HTTPException(413)
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413)
            return message

        await self.app(scope, receiving, send)


def _finish(page: Page, response: Response) -> Response:
    """The pre-session cookie the sign-in form's token is bound to."""
    if PRE_COOKIE not in page.request.cookies:
        _cookie(response, page.request, PRE_COOKIE, page.pre)
    return response


def _cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def _redirect(to: str) -> Response:
    return RedirectResponse(to, status_code=303)


def _multi(posted: FormData) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for key, value in posted.multi_items():
        if isinstance(value, str):
            values.setdefault(key, []).append(value)
    return values


def _one(form: Mapping[str, Sequence[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


NOTICES = frozenset(
    {f.label for forms in ACTION_FORMS.values() for f in forms}
    | {"已报送", "已保存", "已提交", "已处理"}
)


def _notice(done: str) -> str:
    """The confirmation a redirect asks for: one of the portal's own labels, never text from
    the address (a link cannot make the portal say something it did not)."""
    return done if done in NOTICES else ""


def _once() -> str:
    """A fresh idempotency key for one rendered form: a double click submits once."""
    return secrets.token_urlsafe(12)


def _when(value: object) -> str:
    """An ISO instant or day as the pages show it: ``2026-12-01 09:30``."""
    text = str(value or "")
    return text[:16].replace("T", " ")


def _nav(actor: Actor) -> list[tuple[str, str]]:
    """The links of the actor's role; the 三员 get their own page and nothing else."""
    role = actor.role
    if role is Role.SYSTEM_ADMIN:
        return [("/admin", "系统管理")]
    if role is Role.SECURITY_ADMIN:
        return [("/security", "授权审批")]
    if role is Role.AUDIT_ADMIN:
        return [("/audit", "安全审计")]
    links: list[tuple[str, str]] = []
    if role in SUBMITTER_ROLES:
        links += [("/mine", "我的信息"), ("/items/new", "报送信息")]
    if role in OFFICE_ROLES or role is Role.HANDLING_UNIT:
        links.append(("/lanes", "工作队列"))
    links.append(("/published", "公开信息"))
    if role in OFFICE_ROLES:
        links.append(("/bulletin", "季度通报"))
    return links


# --- pages -----------------------------------------------------------------------------------


def home(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """The role's first page."""
    return _redirect(_nav(page.actor)[0][0])


def login(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """Sign-in by phone number and password (第十六条)."""
    if request.method == "GET":
        return page.render("login.html")
    address = request.client.host if request.client else ""
    throttle = page.portal.throttle
    if throttle.blocked(address):  # no guess reaches the library: nothing verified or counted
        response = page.render("login.html", 429, error=TOO_MANY_SIGN_INS)
        response.headers["Retry-After"] = str(int(throttle.window))
        return response
    try:
        signed = page.qd.sign_in(_one(form, "phone"), _one(form, "password"))
    except QiandaoError as error:
        throttle.failed(address)
        return page.render("login.html", error.http_status, error=error.as_dict())
    if signed.must_change_password:
        to = "/password"
    elif signed.actor is None:
        to = "/role"
    else:
        to = "/"
    if page.token:  # the browser's earlier session (another person's, on a shared desk) ends
        page.qd.sign_out(page.token)
    response = _redirect(to)
    _cookie(response, request, SESSION_COOKIE, signed.token)
    grants = "|".join(f"{g.role.value}:{g.jurisdiction}:{g.unit_id or ''}" for g in signed.grants)
    _cookie(response, request, GRANTS_COOKIE, grants)
    return response


def logout(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """Ends the session."""
    if page.token:
        page.qd.sign_out(page.token)
    response = _redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(GRANTS_COOKIE, path="/")
    return response


def password(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """The password change, forced at first sign-in (第十六条)."""
    if not page.token:
        return _redirect("/login")
    if request.method == "GET":
        return page.render("password.html")
    new = _one(form, "new_password")
    if new != _one(form, "confirm"):
        error = {"code": "portal.mismatch", "message": "两次输入的新密码不一致"}
        return page.render("password.html", 422, error=error)
    try:
        signed = page.qd.change_password(page.token, _one(form, "old_password"), new)
    except QiandaoError as error:
        return page.render("password.html", error.http_status, error=error.as_dict())
    response = _redirect("/" if signed.actor is not None else "/role")
    _cookie(response, request, SESSION_COOKIE, signed.token)
    return response


def role(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """A person holding several role grants chooses the one to act in."""
    if not page.token:
        return _redirect("/login")
    # the grants the sign-in returned ("role:jurisdiction:unit|…"); a tampered list gains
    # nothing: select_grant refuses a grant the person does not hold
    held = [g.split(":") for g in request.cookies.get(GRANTS_COOKIE, "").split("|") if g]
    grants = [
        RoleGrant(Role.parse(g[0]), g[1], g[2] or None)
        for g in held
        if len(g) == 3 and g[0] in _ROLE_CODES
    ]
    if request.method == "GET":
        return page.render("role.html", grants=grants)
    chosen = _int(_one(form, "grant"), -1)
    if not 0 <= chosen < len(grants):
        return _redirect("/role")
    page.qd.select_grant(page.token, grants[chosen])  # the library checks it is held
    return _redirect("/")


def mine(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """The author's own items, a page at a time."""
    result = page.qd.my_items(page.offered(), limit=20, cursor=request.query_params.get("cursor"))
    return page.render("list.html", title="我的信息", page_data=to_json(result), base="/mine")


def published(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """The adopted, public items (第十四条)."""
    result = page.qd.published(page.offered(), limit=20, cursor=request.query_params.get("cursor"))
    return page.render("list.html", title="公开信息", page_data=to_json(result), base="/published")


def lanes(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """The office's or the unit's work queues, each paged with its total."""
    counts = page.qd.lane_counts(page.offered())
    if not counts:
        return _redirect("/")
    wanted = request.query_params.get("lane")
    current = next((lane for lane in counts if lane.value == wanted), next(iter(counts)))
    result = page.qd.lane(page.actor, current, limit=20, cursor=request.query_params.get("cursor"))
    return page.render(
        "lanes.html",
        counts=[(lane, n) for lane, n in counts.items()],
        current=current,
        page_data=to_json(result),
        base=f"/lanes?lane={current.value}",
    )


def new_item(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """Write an item: save it as a draft, or submit it at once (第四、五条)."""
    actor = page.offered()
    if request.method == "GET":
        return page.render(
            "new.html", fields=DRAFT_FIELDS, values={"publish": ["on"]}, once=_once()
        )
    method = "submit_new" if _one(form, "then") == "submit" else "draft"
    body = {"data": form_body(DRAFT_FIELDS, form), "idempotency_key": _one(form, "once") or None}
    try:
        item = getattr(page.qd, method)(actor, **arguments(method, body))
    except QiandaoError as error:
        return page.render(
            "new.html",
            error.http_status,
            fields=DRAFT_FIELDS,
            values=form,
            error=error.as_dict(),
            once=_once(),
        )
    return _redirect(f"/items/{item.id}?done={'已报送' if method == 'submit_new' else '已保存'}")


def _units(page: Page) -> list[dict[str, Any]]:
    """The actor's jurisdiction's active units, for the assign and reassign forms."""
    found = page.qd.units(page.actor, limit=200)
    return [{"id": u.id, "name": u.name} for u in found.items if u.active]


def item(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """One item as the actor may see it, with a form for each allowed action."""
    return _item_page(page, request.path_params["item_id"])


def _item_page(
    page: Page, item_id: str, status: int = 200, error: object = None, values: object = None
) -> Response:
    view = page.qd.item_detail(page.actor, item_id)
    actions = [
        (action.assignment_id, f) for action in view.actions for f in forms_for(action.command)
    ]
    needs_units = any(field.kind in {"unit", "units"} for _, f in actions for field in f.fields)
    return page.render(
        "item.html",
        status,
        item=to_json(view),
        similar=_similar(page, view),
        actions=actions,
        units=_units(page) if needs_units else [],
        today=page.qd.now().date().isoformat(),
        once=_once(),
        error=error,
        values=values or {},
    )


def _similar(page: Page, view: ItemView) -> object:
    """At 初审 (where the editor may merge), the items most like this one (第七、九条), or
    ``None`` when the service has no text analyzer."""
    if not any(action.command is ItemCommand.MERGE for action in view.actions):
        return None
    try:
        return to_json(page.qd.similar_items(page.actor, view.id))
    except AnalysisUnavailable:
        return None


def act(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """Run one allowed action's form: the posted fields become the method's arguments."""
    actor = page.actor  # first: an unknown action is no answer to someone not signed in
    item_id = request.path_params["item_id"]
    method = request.path_params["method"]
    chosen = _form_named(method)
    if chosen is None:
        return _refusal(404, "portal.unknown_action", "没有这项操作")(page, request, form)
    body = form_body(chosen.fields, form)
    body["item_id"] = item_id
    assignment = _one(form, "assignment_id")
    if assignment:
        body["assignment_id"] = assignment
    if "idempotency_key" in _parameters(method):
        body["idempotency_key"] = _one(form, "once") or None
    try:
        getattr(page.qd, method)(actor, **arguments(method, body))
    except (SessionExpired, PasswordChangeRequired, GrantRequired):
        raise
    except QiandaoError as error:
        return _item_page(page, item_id, error.http_status, error.as_dict(), form)
    return _redirect(f"/items/{item_id}?done={chosen.label}")


def _form_named(method: str) -> Form | None:
    for forms in ACTION_FORMS.values():
        for candidate in forms:
            if candidate.method == method:
                return candidate
    return None


def _parameters(method: str) -> Sequence[str]:
    return list(inspect.signature(getattr(Qiandao, method)).parameters)


def bulletin(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """The quarterly bulletin of the actor's jurisdiction (第十三条)."""
    today = page.qd.now().date()
    year = _int(request.query_params.get("year"), today.year)
    quarter = _int(request.query_params.get("quarter"), (today.month - 1) // 3 + 1)
    result = page.qd.quarterly_bulletin(page.offered(), year, quarter)
    return page.render("bulletin.html", b=to_json(result), year=year, quarter=quarter)


def _int(text: str | None, default: int) -> int:
    """A query or form number of ASCII digits; anything else (``²``, ``١``, ``-1``, text) is the
    default: ``str.isdigit`` alone admits digits ``int`` cannot read."""
    if text is None or len(text) > 9 or not (text.isascii() and text.isdigit()):
        return default
    return int(text)


def admin(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """The system admin's page: units and registration (never anyone's content)."""
    actor = page.offered()
    error = None
    if request.method == "POST":
        try:
            if _one(form, "op") == "unit":
                page.qd.add_unit(actor, _one(form, "unit_id"), _one(form, "name"))
            else:
                body = {k: _one(form, k) for k in ("real_name", "phone", "role")}
                page.qd.register(actor, **body)
            return _redirect("/admin?done=已提交")
        except QiandaoError as e:
            error = e.as_dict()
    units = page.qd.units(actor, limit=200)
    roles = [r for r in Role if r not in {Role.SYSTEM_ADMIN}]
    return page.render("admin.html", _status(error), units=to_json(units), roles=roles, error=error)


def security(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """The security admin's page: grant proposals to approve or reject (三员分立)."""
    actor = page.offered()
    error = None
    if request.method == "POST":
        try:
            proposal = _one(form, "proposal_id")
            if _one(form, "decision") == "approve":
                page.qd.approve_grant(actor, proposal)
            else:
                page.qd.reject_grant(actor, proposal, _one(form, "reason") or "不予批准")
            return _redirect("/security?done=已处理")
        except QiandaoError as e:
            error = e.as_dict()
    proposals = page.qd.grant_proposals(actor, limit=50)
    return page.render("security.html", _status(error), proposals=to_json(proposals), error=error)


def _status(error: Mapping[str, Any] | None) -> int:
    """A page's status: 200, or the refusal's own (a refused approval is 403, not a 200 page)."""
    return int(error["http_status"]) if error else 200


def audit(page: Page, request: Request, form: Mapping[str, Sequence[str]]) -> Response:
    """The audit admin's page: the latest records and the chain's verification."""
    actor = page.offered()
    query = AuditQuery(
        action=request.query_params.get("action") or None,
        after=request.query_params.get("cursor") or None,
        limit=50,
    )
    records = page.qd.audit_log(actor, query)
    verified = page.qd.verify_audit(actor) if request.query_params.get("verify") else None
    return page.render(
        "audit.html",
        records=to_json(records),
        verified=to_json(verified) if verified else None,
    )


def create_app(
    qd: Qiandao,
    *,
    secret: bytes | None = None,
    client: str = "qiandao-portal/0.1",
    throttle: SignInThrottle | None = None,
) -> Starlette:
    """The portal as an ASGI application over ``qd`` (``secret`` signs CSRF tokens; pass a
    persistent one when several processes serve the same site; ``throttle`` limits failed
    sign-ins per address, 20 in ten minutes by default)."""
    portal = Portal(qd, secret=secret, client=client, throttle=throttle)
    both = ("GET", "POST")
    routes = [
        portal.route("/", home),
        portal.route("/login", login, both),
        portal.route("/logout", logout, ("POST",)),
        portal.route("/password", password, both),
        portal.route("/role", role, both),
        portal.route("/mine", mine),
        portal.route("/published", published),
        portal.route("/lanes", lanes),
        portal.route("/items/new", new_item, both),
        portal.route("/items/{item_id}", item),
        portal.route("/items/{item_id}/do/{method}", act, ("POST",)),
        portal.route("/bulletin", bulletin),
        portal.route("/admin", admin, both),
        portal.route("/security", security, both),
        portal.route("/audit", audit),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders), Middleware(BodyLimit)],
        exception_handlers={HTTPException: portal.http_error},
    )
