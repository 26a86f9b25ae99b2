"""What the browser tests share: the live hub and agent, the page's counter steps, screenshots."""
from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from payhub.integrations.printing.wire import ReadBack, read_back
from payhub.kernel.domain import terminal_signature as sig
from payhub.entrypoints.demo import OPERATORS, TERMINAL, TERMINAL_KEY

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
OPERATOR, OPERATOR_PASSWORD = OPERATORS[0][0], OPERATORS[0][3]
SUPERVISOR, SUPERVISOR_PASSWORD = OPERATORS[1][0], OPERATORS[1][3]
WECHAT_CODE = "134567890123456700"  # no sandbox scenario: pays at once

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium fonts-noto-cjk"
)


@dataclass
class LiveHub:
    base_url: str
    database: Path | None = None  # the demo's SQLite file

    def call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        """One signed call as the demo operator, from the test's side (Playwright's loop forbids asyncio.run)."""
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            token = self._send(http, "POST", "/api/v1/session", body={"username": OPERATOR, "password": OPERATOR_PASSWORD})["token"]
            return self._send(http, method, path, body=body, params=params, token=token)

    def paid_order(self, *, fee_type: str, account_no: str) -> dict:
        """An order of earlier today: its arrears paid by a WeChat payment code and posted."""
        due = self.call("GET", "/api/v1/arrears", params={"fee_type": fee_type, "account_no": account_no})["total_due"]
        order = self.call("POST", "/api/v1/orders", body={
            "out_trade_no": secrets.token_hex(8), "fee_type": fee_type, "account_no": account_no, "amount": due})
        self.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", body={"auth_code": WECHAT_CODE})
        deadline = time.monotonic() + 20
        while (found := self.call("GET", f"/api/v1/orders/{order['order_no']}"))["state"] != "fulfilled":
            assert time.monotonic() < deadline, found
            time.sleep(0.2)
        return found

    @staticmethod
    def _send(http: httpx.Client, method: str, path: str, *, body: dict | None = None, params: dict | None = None,
              token: str | None = None) -> dict:
        target = httpx.URL(path, params=params).raw_path.decode()
        content = json.dumps(body).encode() if body else b""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        headers = {
            sig.HEADER_TERMINAL: TERMINAL, sig.HEADER_TIMESTAMP: timestamp, sig.HEADER_NONCE: nonce,
            sig.HEADER_SIGNATURE: sig.sign(key=TERMINAL_KEY, method=method, path=target, timestamp=timestamp,
                                           nonce=nonce, body=content),
            "Content-Type": "application/json",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = http.request(method, target, content=content, headers=headers)
        response.raise_for_status()
        return response.json()

    def customer_pays(self, order_no: str) -> None:
        """The customer scans the collection QR and pays (the SwiftPass sandbox's control)."""
        httpx.post(f"{self.base_url}/sandbox/swiftpass/_sandbox/trades/{order_no}/pay", timeout=10).raise_for_status()

    def setup_url(self) -> str:
        return f"{self.base_url}/pos/#terminal={TERMINAL}&key={TERMINAL_KEY}"


@dataclass
class LiveAgent:
    base_url: str
    receipts: Path

    def printed(self) -> ReadBack:
        """Everything the file printer received so far, decoded."""
        return read_back(self.receipts.read_bytes() if self.receipts.exists() else b"")


def shoot(page, name: str) -> None:
    """Save a screenshot of the page as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def counter_page(browser, live_hub: LiveHub, *, agent_url: str, width: int = 1280, height: int = 900,
                 touch: bool = False, keep_settings: bool = False):
    """A new browser context showing the counter page, logged in, that prints through the agent at agent_url."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": width, "height": height},
                                  has_touch=touch, is_mobile=touch)
    setting = json.dumps(json.dumps({"agentUrl": agent_url}))
    keep = "localStorage.getItem('payhub.settings') || " if keep_settings else ""
    context.add_init_script(f"{keep}localStorage.setItem('payhub.settings', {setting})")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(live_hub.setup_url())
    log_in(page)
    return context, page


def log_in(page, username: str = OPERATOR, password: str = OPERATOR_PASSWORD) -> None:
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    page.locator("#fee-types button").first.wait_for()


def look_up(page: Page, key: str, account_no: str) -> None:
    """Choose the fee type by its key, type the account and press Enter."""
    expect(page.locator("#fee-types button").nth(int(key) - 1)).to_be_visible()
    page.keyboard.press(key)
    account = page.locator("#account-form").get_by_label("户号")
    expect(account).to_be_focused()
    account.fill(account_no)
    account.press("Enter")
    expect(page.locator("#amount-form")).to_be_visible()


def place_order(page: Page) -> str:
    """Press Enter in the amount and wait for the payment choice; the order no. on screen."""
    page.get_by_label("缴费金额（元）").press("Enter")
    expect(page.get_by_role("heading", name="选择支付方式")).to_be_visible()
    return page.locator('[data-name="pay"] .order-no').inner_text()


def pay_by_qr(page: Page, live_hub: LiveHub, order_no: str, screenshot: str | None = None) -> None:
    page.keyboard.press("1")
    expect(page.locator("#qr-image")).to_be_visible()
    expect(page.locator("#qr-countdown")).to_have_text(re.compile(r"剩余 [45]:\d\d"))
    if screenshot:
        shoot(page, screenshot)
    live_hub.customer_pays(order_no)


def pay_by_code(page: Page, code: str) -> None:
    """Choose the payment code and scan it: a scanner types fast and ends with Enter."""
    page.keyboard.press("2")
    scan = page.locator("#auth-code")
    expect(scan).to_be_focused()
    scan.press_sequentially(code, delay=3)
    scan.press("Enter")


def prepay(page: Page, fee_key: str, account_no: str, amount: str) -> str:
    """Look the account up, prepay amount yuan (above its arrears), place the order; its number."""
    look_up(page, fee_key, account_no)
    page.locator('[data-mode="prepay"]').click()
    page.get_by_label("缴费金额（元）").fill(amount)
    return place_order(page)
