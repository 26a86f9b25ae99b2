"""The terminal key is proved by a signed ping before the browser keeps it; a terminal whose key fails reaches
设置 without a login, to unregister and register again."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.pos import LiveHub, needs_chromium, shoot
from payhub.entrypoints.demo import TERMINAL, TERMINAL_KEY

pytestmark = needs_chromium


@pytest.fixture
def fresh(browser) -> Iterator[Page]:
    """A browser profile that has never been registered."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _kept(page: Page) -> dict | None:
    return page.evaluate("JSON.parse(localStorage.getItem('payhub.terminal'))")


def test_a_wrong_key_is_refused_at_registration_and_the_right_one_kept(fresh: Page, live_hub: LiveHub) -> None:
    fresh.goto(f"{live_hub.base_url}/pos/")
    expect(fresh.get_by_role("heading", name="登记终端")).to_be_visible()
    fresh.get_by_label("终端号").fill(TERMINAL)
    fresh.get_by_label("终端密钥").fill("not-the-key")
    fresh.get_by_role("button", name="保存").click()
    expect(fresh.locator("#register-form [data-message]")).to_have_text(
        f"终端密钥不正确：交易宝无法用这个密钥验证终端 {TERMINAL}，未保存。请向管理员核对密钥后重新输入。")
    shoot(fresh, "register-wrong-key")
    assert _kept(fresh) is None

    fresh.get_by_label("终端号").fill("POS404")
    fresh.get_by_label("终端密钥").fill(TERMINAL_KEY)
    fresh.get_by_role("button", name="保存").click()
    expect(fresh.locator("#register-form [data-message]")).to_contain_text("终端号 POS404 未在交易宝登记或已停用")
    assert _kept(fresh) is None

    fresh.get_by_role("button", name="设置").click()  # before any registration: the agent's address can be set
    expect(fresh.get_by_label("终端助手地址")).to_be_visible()
    expect(fresh.get_by_role("button", name="取消登记本机")).to_be_hidden()
    fresh.get_by_role("button", name="返回").click()

    fresh.get_by_label("终端号").fill(TERMINAL)
    fresh.get_by_label("终端密钥").fill(TERMINAL_KEY)
    fresh.get_by_role("button", name="保存").click()
    expect(fresh.get_by_text(f"终端 {TERMINAL}")).to_be_visible()
    assert _kept(fresh) == {"terminal": TERMINAL, "key": TERMINAL_KEY}


def test_a_setup_link_with_a_wrong_key_is_not_kept(fresh: Page, live_hub: LiveHub) -> None:
    fresh.goto(f"{live_hub.base_url}/pos/#terminal={TERMINAL}&key=not-the-key")
    expect(fresh.locator("#register-form [data-message]")).to_contain_text("终端密钥不正确")
    assert "#" not in fresh.url and _kept(fresh) is None
    expect(fresh.get_by_label("终端号")).to_have_value(TERMINAL)


def test_a_kept_key_that_fails_reaches_settings_without_login_to_register_again(fresh: Page, live_hub: LiveHub) -> None:
    fresh.goto(f"{live_hub.base_url}/pos/")
    fresh.evaluate(f"localStorage.setItem('payhub.terminal', JSON.stringify({{terminal: '{TERMINAL}', key: 'rotated'}}))")
    fresh.reload()
    fresh.get_by_label("用户名", exact=True).fill("op01")
    fresh.get_by_label("密码", exact=True).fill("op01pass")
    fresh.get_by_role("button", name="登录").click()
    expect(fresh.locator("#login-form [data-message]")).to_have_text(
        f"本机保存的终端密钥已失效或不正确，交易宝无法验证终端 {TERMINAL}。请点「设置」取消登记本机，再用正确的密钥重新登记。")
    shoot(fresh, "login-key-failed")

    fresh.get_by_role("button", name="设置").click()
    expect(fresh.get_by_role("heading", name="设置")).to_be_visible()
    expect(fresh.locator("#topbar")).to_be_hidden()
    fresh.keyboard.press("F2")  # no way past the login from here
    expect(fresh.get_by_role("heading", name="设置")).to_be_visible()
    fresh.get_by_role("button", name="取消登记本机").click()
    expect(fresh.get_by_role("heading", name="登记终端")).to_be_visible()
    assert _kept(fresh) is None
