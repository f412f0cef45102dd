"""The SMTP and webhook notifiers against servers the tests start on loopback: what arrives, how
it is signed, and that every failure raises (so the outbox retries) without leaking a secret."""

from __future__ import annotations

import importlib.util
import logging
import re
import ssl
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qiandao import (
    Contact,
    ExternalIdentity,
    InvalidInput,
    Qiandao,
    RecipientResolver,
    Recipients,
    Role,
    parse_recipient,
)
from qiandao._core import Actor
from qiandao.ports.notify import Notice
from qiandao.testing import NASTY_TEXT, T0, ManualClock, NotifierContract, enrol, sample_notice
from qiandao_adapters.channels import (
    NoticeDeliveryError,
    SmtpNotifier,
    WebhookNotifier,
    notice_fields,
    sign,
    verify_signature,
)
from qiandao_adapters.memory import MemoryStore
from tests.channel_servers import (
    SECRET,
    Gateway,
    MailServer,
    certificate,
    free_port,
    gateway,
    mail_server,
)

PHONE = "13912345678"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "channels.py"


def everyone(names: Sequence[str]) -> Recipients:
    """A resolver for the contract notices: each name is one person with a phone."""
    return Recipients(
        tuple(
            Contact(f"acc-{n}", f"姓名{n}", f"139{n:08d}", (name,)) for n, name in enumerate(names)
        ),
        (),
    )


def address(contact: Contact) -> str:
    return f"{contact.account_id}@example.gov.cn"


def _notice_of(payload: Mapping[str, Any]) -> Notice:
    return Notice(
        id=payload["id"],
        kind=payload["kind"],
        recipients=tuple(payload["recipients"]),
        text=payload["text"],
        at=datetime.fromisoformat(payload["at"]),
        item_id=payload["item_id"],
    )


# --- webhook ----------------------------------------------------------------------------------


@pytest.fixture
def gw() -> Iterator[Gateway]:
    with gateway() as running:
        yield running


class TestWebhookContract(NotifierContract):
    @pytest.fixture(autouse=True)
    def _gateway(self, gw: Gateway) -> None:
        self.gw = gw

    def make_notifier(self) -> WebhookNotifier:
        return WebhookNotifier(self.gw.url, secret=SECRET, resolver=everyone)

    def delivered(self, notifier: Any) -> list[Notice]:
        assert all(r.signed for r in self.gw.requests)
        return [_notice_of(r.json()) for r in self.gw.requests]


def test_the_default_body_carries_every_field_and_is_signed(gw: Gateway) -> None:
    clock = ManualClock(T0)
    notifier = WebhookNotifier(
        gw.url + "/hook?access_token=tok", secret=SECRET, resolver=everyone, clock=clock
    )
    notice = sample_notice("evt-1")
    notifier.send(notice)
    (request,) = gw.requests
    assert request.signed
    assert request.path == "/hook?access_token=tok"
    assert request.headers["Idempotency-Key"] == "evt-1"
    assert request.headers["X-Qiandao-Timestamp"] == str(int(T0.timestamp()))
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.json() == notice_fields(notice, everyone(notice.recipients))
    assert request.json()["phones"] == ["13900000000", "13900000001"]
    assert request.json()["kind_label"] == "签发"
    assert _notice_of(request.json()) == notice


def test_a_mapping_template_fills_fields_keeping_lists(gw: Gateway) -> None:
    template = {"mobiles": "$phones", "content": "【舟山政协】${text}", "biz": {"id": "$id"}}
    notifier = WebhookNotifier(gw.url, secret=SECRET, resolver=everyone, template=template)
    notice = sample_notice("evt-1", text=NASTY_TEXT + " $phones ${id} {text}")
    notifier.send(notice)
    assert gw.requests[0].json() == {
        "mobiles": ["13900000000", "13900000001"],
        "content": "【舟山政协】" + NASTY_TEXT + " $phones ${id} {text}",  # filled once
        "biz": {"id": "evt-1"},
    }
    assert gw.requests[0].signed


def test_a_callable_template_sends_its_own_bytes(gw: Gateway) -> None:
    def form(fields: Mapping[str, Any]) -> str:
        return urllib.parse.urlencode({"mobile": fields["phone_list"], "msg": fields["text"]})

    notifier = WebhookNotifier(
        gw.url,
        secret=SECRET,
        resolver=everyone,
        template=form,
        content_type="application/x-www-form-urlencoded",
    )
    notifier.send(sample_notice("evt-1", text="请签收 & 办理"))
    (request,) = gw.requests
    assert urllib.parse.parse_qs(request.body.decode()) == {
        "mobile": ["13900000000,13900000001"],
        "msg": ["请签收 & 办理"],
    }
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.signed


def test_an_unknown_template_field_fails_at_construction(gw: Gateway) -> None:
    with pytest.raises(ValueError):
        WebhookNotifier(gw.url, secret=SECRET, template={"to": "$mobile"})
    with pytest.raises(ValueError):
        WebhookNotifier("ftp://example.org/x", secret=SECRET)
    with pytest.raises(ValueError):
        WebhookNotifier(gw.url, secret=b"")


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_a_non_2xx_answer_raises_without_leaking_the_url(gw: Gateway, status: int) -> None:
    gw.status = status
    notifier = WebhookNotifier(gw.url + "/send?token=s3cr3t", secret=SECRET)
    with pytest.raises(NoticeDeliveryError) as failed:
        notifier.send(sample_notice("evt-1"))
    assert failed.value.notice_id == "evt-1"
    assert failed.value.channel == "webhook"
    assert str(status) in str(failed.value)
    _no_secret(failed.value, "s3cr3t", "/send", SECRET.decode())
    assert "s3cr3t" not in repr(notifier)


def _no_secret(error: BaseException, *secrets: str) -> None:
    shown = f"{error!s} {error!r} {error.__cause__!r} {error.__context__!r}"
    for secret in secrets:
        assert secret not in shown
    assert error.__cause__ is None and error.__context__ is None


def test_a_slow_gateway_times_out(gw: Gateway) -> None:
    gw.delay = 1.0
    notifier = WebhookNotifier(gw.url, secret=SECRET, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(NoticeDeliveryError):
        notifier.send(sample_notice("evt-1"))
    assert time.monotonic() - started < 0.9


def test_a_redirect_is_a_failure_not_a_silent_get(gw: Gateway) -> None:
    gw.redirect_to = gw.url + "/elsewhere"
    with pytest.raises(NoticeDeliveryError):
        WebhookNotifier(gw.url, secret=SECRET).send(sample_notice("evt-1"))
    assert [r.path for r in gw.requests] == ["/"]


def test_nobody_listening_raises() -> None:
    notifier = WebhookNotifier(f"http://127.0.0.1:{free_port()}/", secret=SECRET, timeout=2)
    with pytest.raises(NoticeDeliveryError):
        notifier.send(sample_notice("evt-1"))


def test_a_gateway_refusal_in_a_2xx_body_raises(gw: Gateway) -> None:
    gw.answer = b'{"errcode":40001}'
    notifier = WebhookNotifier(
        gw.url, secret=SECRET, accept=lambda status, body: b'"errcode":0' in body
    )
    with pytest.raises(NoticeDeliveryError):
        notifier.send(sample_notice("evt-1"))
    gw.answer = b'{"errcode":0}'
    notifier.send(sample_notice("evt-1"))


def test_a_notice_reaching_no_phone_is_skipped_and_logged_without_phones(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    def no_phones(names: Sequence[str]) -> Recipients:
        return Recipients((Contact("m1", "王", None, tuple(names)),), ())

    sms = WebhookNotifier(gw.url, secret=SECRET, resolver=no_phones, phones_required=True)
    with caplog.at_level(logging.WARNING, "qiandao.notices"):
        sms.send(sample_notice("evt-1"))
    assert gw.requests == []
    assert "evt-1" in caplog.text
    relay = WebhookNotifier(gw.url, secret=SECRET, resolver=no_phones)  # 浙政钉: ids suffice
    relay.send(sample_notice("evt-1"))
    assert gw.requests[0].json()["account_ids"] == ["m1"]


def test_the_signature_recipe_refuses_tampering_and_replays() -> None:
    body, stamp = b'{"id":"evt-1"}', str(int(T0.timestamp()))
    good = sign(SECRET, stamp, body)
    assert verify_signature(SECRET, stamp, body, good, now=T0 + timedelta(seconds=299))
    assert not verify_signature(SECRET, stamp, body + b" ", good, now=T0)
    assert not verify_signature(SECRET, str(int(stamp) + 1), body, good, now=T0)
    assert not verify_signature(b"other", stamp, body, good, now=T0)
    assert not verify_signature(SECRET, stamp, body, good, now=T0 + timedelta(seconds=301))
    assert not verify_signature(SECRET, "soon", body, good, now=T0)


# --- through the service: the outbox retries what the gateway refused -------------------------

ZS = "zhoushan"
MEMBER = Actor("m1", Role.MEMBER, ZS)
EDITOR = Actor("e1", Role.EDITOR, ZS)


def test_the_outbox_keeps_what_the_gateway_refused_and_phones_stay_out_of_the_audit(
    gw: Gateway,
) -> None:
    store = MemoryStore()
    enrol(store, MEMBER, EDITOR)
    with store.unit_of_work() as uow:  # the editor's mobile, for the SMS
        editor = uow.accounts.get("e1")
        uow.accounts.save(
            attrs.evolve(editor, phone=PHONE, version=editor.version + 1),
            editor.version,
        )
        uow.commit()
    sms = WebhookNotifier(
        gw.url,
        secret=SECRET,
        resolver=RecipientResolver(store),
        template={"mobiles": "$phone_list", "content": "$text"},
        phones_required=True,
    )
    clock = ManualClock(T0)
    qd = Qiandao(store, clock=clock, notifier=sms, dispatch_after_commit=False, hasher=None)
    qd.submit_new(MEMBER, {"title": "渔港建议", "body": "正文", "category": "hot_issue"})
    gw.status = 503
    refused = qd.dispatch()
    assert (refused.sent, refused.failed) == (0, 1)
    clock.advance(hours=1)  # past any backoff
    gw.status = 200
    assert qd.dispatch().sent == 1
    assert qd.dispatch().sent == 0  # delivered once, not again
    assert [r.json()["mobiles"] for r in gw.requests] == [PHONE, PHONE]
    with store.unit_of_work() as uow:
        records = [r for shard in uow.audit.shards() for r in uow.audit.records(shard)]
    assert records
    assert all(PHONE not in repr(r) for r in records)


# --- e-mail -----------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    with mail_server() as running:
        yield running


def _mailer(server: MailServer, **options: Any) -> SmtpNotifier:
    settings: dict[str, Any] = {
        "sender": "舟山市政协办公室 <noreply@zszx.gov.cn>",
        "resolver": everyone,
        "address_of": address,
        "security": "none",
        "timeout": 5,
        "local_hostname": "qiandao.test",
    }
    return SmtpNotifier("127.0.0.1", server.port, **{**settings, **options})


class TestSmtpContract(NotifierContract):
    @pytest.fixture(autouse=True)
    def _server(self, smtp: MailServer) -> None:
        self.server = smtp
        self.sent: dict[str, Notice] = {}

    def make_notifier(self) -> SmtpNotifier:
        mailer = _mailer(self.server)
        original = mailer.send

        def send(notice: Notice) -> None:
            self.sent[mailer.message_id(notice)] = notice
            original(notice)

        mailer.send = send  # type: ignore[method-assign]
        return mailer

    def delivered(self, notifier: Any) -> list[Notice]:
        found = []
        for mail in self.server.mails:
            notice = self.sent[mail.message["Message-ID"]]
            assert notice.text in mail.message.get_content().replace("\r\n", "\n")
            assert mail.recipients == tuple(
                address(c) for c in everyone(notice.recipients).contacts
            )
            found.append(notice)
        return found


def test_the_mail_is_utf8_chinese_and_keyed_by_the_notice(smtp: MailServer) -> None:
    mailer = _mailer(smtp)
    notice = sample_notice("evt-42", text="请签收：" + NASTY_TEXT)
    mailer.send(notice)
    mailer.send(notice)  # the outbox delivers at least once: the same message again
    first, again = smtp.mails
    assert first.sender == "noreply@zszx.gov.cn"
    assert first.recipients == ("acc-0@example.gov.cn", "acc-1@example.gov.cn")
    message = first.message
    assert message["Message-ID"] == "<qiandao.evt-42@zszx.gov.cn>"
    assert again.message["Message-ID"] == message["Message-ID"]
    assert message["Subject"] == "【社情民意】签发"
    assert str(message["From"]) == "舟山市政协办公室 <noreply@zszx.gov.cn>"
    assert "example.gov.cn" not in str(message["To"])
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Qiandao-Notice-Id"] == "evt-42"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == "base64"
    assert first.raw.isascii()  # 7-bit on the wire: encoded headers, base64 body
    body = message.get_content().replace("\r\n", "\n")
    assert "请签收：" + NASTY_TEXT in body
    assert "item-0001" in body


def test_an_odd_notice_id_still_gives_a_valid_message_id(smtp: MailServer) -> None:
    mailer = _mailer(smtp)
    odd = sample_notice("evt <1>@\r\nBcc: x@evil")
    mailer.send(odd)
    message_id = smtp.mails[0].message["Message-ID"]
    assert message_id == mailer.message_id(odd)
    assert message_id.startswith("<qiandao.") and "\n" not in message_id and " " not in message_id


def test_people_without_an_address_are_left_out_and_bad_addresses_skipped(
    smtp: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    book = {"acc-0": "a@example.org", "acc-1": "b@example.org\r\nRCPT TO:<x@evil>"}
    mailer = _mailer(smtp, address_of=lambda c: book.get(c.account_id))
    with caplog.at_level(logging.WARNING, "qiandao.notices"):
        mailer.send(sample_notice("evt-1", recipients=("a", "b", "c")))
    assert [m.recipients for m in smtp.mails] == [("a@example.org",)]
    assert "acc-1" in caplog.text
    assert "evil" not in caplog.text
    mailer = _mailer(smtp, address_of=lambda c: None)
    with caplog.at_level(logging.WARNING, "qiandao.notices"):
        mailer.send(sample_notice("evt-2"))
    assert len(smtp.mails) == 1
    assert "evt-2" in caplog.text


def test_nobody_listening_raises_so_the_outbox_retries() -> None:
    mailer = SmtpNotifier(
        "127.0.0.1",
        free_port(),
        sender="noreply@zszx.gov.cn",
        resolver=everyone,
        address_of=address,
        security="none",
        timeout=2,
    )
    with pytest.raises(NoticeDeliveryError) as failed:
        mailer.send(sample_notice("evt-1"))
    assert failed.value.channel == "smtp"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return certificate(tmp_path_factory.mktemp("tls"))


def _trusting(tls: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls[0]))


@pytest.mark.parametrize("password", ["pa55-word", "wrong-Pa55"])
def test_starttls_with_a_login_that_never_shows_the_password(
    tls: tuple[Path, Path], password: str
) -> None:
    with mail_server(tls=tls, login=("zszx", "pa55-word")) as server:
        mailer = _mailer(
            server,
            security="starttls",
            ssl_context=_trusting(tls),
            username="zszx",
            password=password,
        )
        assert password not in repr(mailer)
        if password == "pa55-word":
            mailer.send(sample_notice("evt-1"))
            assert len(server.mails) == 1
            return
        with pytest.raises(NoticeDeliveryError) as failed:
            mailer.send(sample_notice("evt-1"))
        assert "535" in str(failed.value)
        _no_secret(failed.value, password)
        assert server.mails == []


def test_an_untrusted_certificate_is_refused(tls: tuple[Path, Path]) -> None:
    with mail_server(tls=tls) as server:
        with pytest.raises(NoticeDeliveryError):
            _mailer(server, security="starttls").send(sample_notice("evt-1"))
        assert server.mails == []


def test_implicit_tls(tls: tuple[Path, Path]) -> None:
    with mail_server(tls=tls, implicit_tls=True) as server:
        _mailer(server, security="ssl", ssl_context=_trusting(tls)).send(sample_notice("evt-1"))
        assert len(server.mails) == 1


def test_a_malformed_recipient_name_keeps_the_notice(smtp: MailServer) -> None:
    def strict(names: Sequence[str]) -> Recipients:
        for name in names:
            parse_recipient(name)
        return everyone(names)

    with pytest.raises(InvalidInput):
        _mailer(smtp, resolver=strict).send(sample_notice("evt-1", recipients=("role:x@y",)))
    assert smtp.mails == []


def test_timestamps_are_unix_seconds_of_the_clock(gw: Gateway) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    WebhookNotifier(gw.url, secret=SECRET, clock=ManualClock(at)).send(sample_notice("evt-1"))
    assert gw.requests[0].headers["X-Qiandao-Timestamp"] == str(int(at.timestamp()))


def test_the_example_wiring_sends_on_every_channel(gw: Gateway, smtp: MailServer) -> None:
    spec = importlib.util.spec_from_file_location("channels_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    store = MemoryStore()
    enrol(store, EDITOR)
    env = {
        "QIANDAO_SMS_URL": gw.url,
        "QIANDAO_SMS_SECRET": SECRET.decode(),
        "QIANDAO_SMTP_HOST": "127.0.0.1",
        "QIANDAO_SMTP_SENDER": "noreply@zszx.gov.cn",
    }
    notifier = example.build_notifier(store, env)
    sms, mail = notifier.channels
    assert isinstance(sms, WebhookNotifier)
    assert isinstance(mail, SmtpNotifier)
    mail.port, mail.security = smtp.port, "none"
    notice = sample_notice("evt-1", recipients=("role:editor@zhoushan",))
    notifier.send(notice)  # the editor has no phone: no SMS; the directory has an address
    assert gw.requests == []
    assert [m.recipients for m in smtp.mails] == [("editor1@zszx.gov.cn",)]


def test_refused_mailboxes_partly_warn_and_wholly_raise(
    smtp: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    book = {"acc-0": "refused-a@example.org", "acc-1": "b@example.org"}
    mailer = _mailer(smtp, address_of=lambda c: book[c.account_id])
    with caplog.at_level(logging.WARNING, "qiandao.notices"):
        mailer.send(sample_notice("evt-1"))
    assert [m.recipients for m in smtp.mails] == [("b@example.org",)]
    assert "evt-1" in caplog.text
    assert "refused-a" not in caplog.text
    with pytest.raises(NoticeDeliveryError):
        mailer.send(sample_notice("evt-2", recipients=("only-the-first",)))
    assert len(smtp.mails) == 1


@given(notice_id=st.text(min_size=1, max_size=60))
def test_every_notice_id_gives_one_valid_message_id(notice_id: str) -> None:
    mailer = SmtpNotifier(
        "127.0.0.1",
        sender="noreply@zszx.gov.cn",
        resolver=everyone,
        address_of=address,
        security="none",
    )
    made = mailer.message_id(sample_notice(notice_id))
    assert made == mailer.message_id(sample_notice(notice_id, text="另一条"))
    assert re.fullmatch(r"<qiandao(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)+@zszx\.gov\.cn>", made)


def test_a_zhengding_relay_gets_the_people_s_zzd_ids(gw: Gateway) -> None:
    def bound(names: Sequence[str]) -> Recipients:
        return Recipients(
            (
                Contact("e1", "甲", None, tuple(names), frozenset({ExternalIdentity("zzd", "z1")})),
                Contact("e2", "乙", None, tuple(names)),  # not bound: left out
            ),
            (),
        )

    template = {"userid_list": "$external_ids", "msg": {"msgtype": "text", "text": "$text"}}
    relay = WebhookNotifier(
        gw.url, secret=SECRET, resolver=bound, template=template, provider="zzd"
    )
    relay.send(sample_notice("evt-1", text="请签收"))
    assert gw.requests[0].json() == {
        "userid_list": ["z1"],
        "msg": {"msgtype": "text", "text": "请签收"},
    }


def test_an_odd_notice_id_gives_a_stable_idempotency_key(gw: Gateway) -> None:
    odd = sample_notice("evt\r\nX-Injected: 1")
    notifier = WebhookNotifier(gw.url, secret=SECRET)
    notifier.send(odd)
    notifier.send(odd)
    first, again = gw.requests
    assert "X-Injected" not in first.headers
    assert first.headers["Idempotency-Key"] == again.headers["Idempotency-Key"]
    assert first.headers["Idempotency-Key"].startswith("sha256:")
    assert first.json()["id"] == odd.id


def test_an_https_gateway_is_trusted_only_through_the_given_context(
    tls: tuple[Path, Path],
) -> None:
    with gateway(tls) as secure:
        with pytest.raises(NoticeDeliveryError):
            WebhookNotifier(secure.url, secret=SECRET, timeout=2).send(sample_notice("evt-1"))
        trusted = WebhookNotifier(secure.url, secret=SECRET, ssl_context=_trusting(tls))
        trusted.send(sample_notice("evt-1"))
        assert [r.signed for r in secure.requests] == [True]
