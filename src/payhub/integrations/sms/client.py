"""The SmsGateway spoken to Alibaba Cloud SMS (Dysmsapi SendSms) over HTTPS; the protocol is in wire.py."""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from payhub.integrations.sms import wire
from payhub.config import AliyunSmsSettings
from payhub.kernel.ports import SmsUnavailable

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class AliyunSms:
    """Sends verification codes through the approved signature and template of the hub's Alibaba Cloud account."""

    name = "aliyun"

    def __init__(self, *, settings: AliyunSmsSettings, http: httpx.AsyncClient,
                 now: Callable[[], datetime] = utc_now) -> None:
        self._settings = settings
        self._http = http
        self._now = now  # the provider checks the timestamp against real time, whatever the hub's clock says

    async def send_code(self, *, phone: str, code: str) -> None:
        settings, masked = self._settings, wire.mask_phone(phone)
        request = wire.send_sms_request(
            access_key_id=settings.access_key_id, secret=settings.access_key_secret.get_secret_value(),
            region_id=settings.region_id, sign_name=settings.sign_name, template_code=settings.template_code,
            template_param=settings.template_param, phone=phone, code=code, at=self._now(), nonce=uuid.uuid4().hex,
        )
        try:
            # the overall deadline also holds for transports that ignore httpx's own timeouts (in-process ASGI)
            async with asyncio.timeout(settings.timeout_seconds):
                response = await self._http.post(settings.endpoint.rstrip("/") + "/", params=request.query,
                                                 data=request.form, timeout=settings.timeout_seconds)
        except (httpx.HTTPError, TimeoutError) as error:
            log.warning("SMS to %s: no answer from the provider (%s); the message may still arrive",
                        masked, type(error).__name__)
            raise SmsUnavailable(f"no answer from the SMS provider ({type(error).__name__})") from None
        answer = wire.read_answer(response.content)
        if answer is None:
            log.warning("SMS to %s: unreadable answer, HTTP %s", masked, response.status_code)
            raise SmsUnavailable(f"unreadable answer from the SMS provider (HTTP {response.status_code})")
        try:
            wire.raise_unless_sent(answer)
        except SmsUnavailable as error:
            log.warning("SMS to %s not sent: %s (request %s)", masked, error, answer.request_id)
            raise
        log.info("SMS to %s sent (BizId %s)", masked, answer.biz_id)
