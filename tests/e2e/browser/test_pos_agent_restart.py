"""A receipt whose printing failed, then the terminal agent restarted: the agent still holds the job and the page
prints it again. And the result screen of an order left for manual handling."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from payhub.integrations.printing.wire import read_back
from tests.e2e.browser.pos import LiveHub, counter_page, look_up, needs_chromium, pay_by_code, pay_by_qr, place_order, shoot
from tests.support.agent_process import AgentProcess

pytestmark = needs_chromium
REFUND_FAILS_CODE = "134567890123456797"  # SwiftPass sandbox: paid, but its refund fails


@pytest.fixture
def agent(tmp_path: Path, live_hub: LiveHub) -> Iterator[AgentProcess]:
    """An agent whose printer cannot be opened yet (a file stands where its folder should be)."""
    blocker = tmp_path / "printer"
    blocker.write_text("not a folder")
    one = AgentProcess(printer=blocker / "receipts.bin", data_dir=tmp_path / "agent-data", allowed_origin=live_hub.base_url)
    one.start()
    yield one
    if one.process and one.process.poll() is None:
        one.stop()


@pytest.fixture
def counter_on(browser, live_hub: LiveHub) -> Iterator:
    contexts = []

    def opened(agent_url: str) -> Page:
        context, page = counter_page(browser, live_hub, agent_url=agent_url)
        contexts.append(context)
        return page

    yield opened
    for context in contexts:
        context.close()


def test_a_receipt_that_failed_before_the_agent_restarted_is_printed_after_it(
    counter_on, live_hub: LiveHub, agent: AgentProcess,
) -> None:
    page = counter_on(agent.url)
    expect(page.locator("#printer-status")).to_contain_text("离线")
    look_up(page, "4", "30010001")
    page.get_by_label("缴费金额（元）").fill("7.70")
    order_no = place_order(page)
    pay_by_qr(page, live_hub, order_no)
    expect(page.locator('[data-name="result"] [data-message]')).to_contain_text("打印失败", timeout=20_000)
    expect(page.locator("#unprinted-button")).to_have_text("未打印凭条（1）")

    agent.stop()
    agent.printer.parent.unlink()  # the printer is fixed while the agent is down
    agent.start()
    kept = httpx.get(f"{agent.url}/api/jobs").json()["jobs"]
    assert [(job["order_no"], job["state"], job["reprint"]) for job in kept] == [(order_no, "failed", False)]

    expect(page.locator("#printer-status")).to_contain_text("就绪", timeout=15_000)
    page.locator("#unprinted-button").click()
    page.get_by_role("button", name="重新打印").click()
    expect(page.locator("#unprinted-button")).to_be_hidden()
    assert read_back(agent.printer.read_bytes()).qr_codes == [order_no]
    shoot(page, "agent-restart-reprinted")


def test_an_order_left_for_manual_handling_says_so_and_prints_its_receipt(
    counter_on, live_hub: LiveHub, agent: AgentProcess,
) -> None:
    agent.stop()
    agent.printer.parent.unlink()
    agent.start()
    page = counter_on(agent.url)
    look_up(page, "1", "10010091")  # TCIS refuses the posting; the refund the hub then starts fails at SwiftPass
    order_no = place_order(page)
    pay_by_code(page, REFUND_FAILS_CODE)
    expect(page.get_by_role("heading", name="待人工处理")).to_be_visible(timeout=45_000)
    expect(page.locator("#result")).to_have_attribute("data-outcome", "warn")
    expect(page.locator("#result-detail")).to_have_text("请保留凭条，联系主管处理")
    facts = page.locator("#result-facts")
    expect(facts).to_contain_text(order_no)
    expect(facts).to_contain_text("10010091")
    expect(page.locator('[data-name="result"] [data-message]')).to_have_text("凭条已打印", timeout=20_000)
    expect(page.get_by_role("button", name="下一位")).to_be_focused()
    shoot(page, "result-manual")
    assert order_no in read_back(agent.printer.read_bytes()).qr_codes
    assert live_hub.call("GET", f"/api/v1/orders/{order_no}")["state"] == "manual"
