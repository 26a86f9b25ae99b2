"""A Hub built from the fakes, with one merchant, terminal, operator and supervisor, and the steps tests share."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from payhub.counter.domain.billing import Arrears, Bill, PostingStatus
from payhub.counter.domain.fees import FeeType
from payhub.kernel.domain.jobs import Job, JobKind, JobState
from payhub.kernel.domain.ledger import biller_payable, channel_clearing, family_of, unposted_receipts
from payhub.kernel.domain.orders import Order
from payhub.kernel.domain.payments import PayStatus
from payhub.kernel.domain.refunds import Refund
from payhub.kernel.domain.tenancy import Merchant, Operator, Role, Terminal
from payhub.kernel.domain.transitions import Transition
from payhub.counter.services import counter
from payhub.kernel.services.auth import Actor
from payhub.bootstrap import AppHub
from payhub.kernel.services.context import Policy
from payhub.counter.services.biller_posting import BillerPosting
from payhub.kernel.services.fulfilment import fulfil
from payhub.kernel.services.fulfilment_kinds import FulfilmentKinds
from payhub.kernel.services.job_handlers import JobHandlers
from payhub.kernel.services.outbox import kernel_jobs
from payhub.cards.jobs import card_jobs
from payhub.till.services.retail import Retail

from .fakes import (
    FakeBiller, FakeChannel, FakeDatabase, FakeRegistry, FakeSignals, FakeUnitOfWorkFactory, FixedClock,
    PlainHasher, PlainSealer, StoredJob,
)

START = datetime(2024, 5, 20, 2, 0, tzinfo=UTC)  # 10:00 in China
WECHAT_CODE = "134567890123456789"
GAS_ACCOUNT = "G-100"       # two bills, prepayment allowed
NO_PREPAY_ACCOUNT = "W-200"  # one bill, no prepayment
SETTLED_ACCOUNT = "W-300"    # nothing due, no prepayment
CLEARING = channel_clearing(FakeChannel.name).code
UNPOSTED = unposted_receipts().code
PAYABLE = biller_payable(FakeBiller.name).code


@dataclass
class World:
    """Everything a service test touches; read the committed state through the helpers."""

    db: FakeDatabase
    clock: FixedClock
    channel: FakeChannel
    biller: FakeBiller
    signals: FakeSignals
    hub: AppHub
    merchant: Merchant
    terminal: Terminal
    operator: Operator
    supervisor: Operator

    @property
    def actor(self) -> Actor:
        return Actor(self.merchant.id, self.terminal, self.operator, "token-hash")

    def order(self, order_no: str) -> Order:
        return self.db.orders[order_no]

    def refund(self, refund_no: str) -> Refund:
        return self.db.refunds[refund_no].refund

    def job(self, kind: JobKind, ref: str) -> StoredJob | None:
        return self.db.jobs.get((kind, ref))

    def pending(self, kind: JobKind, ref: str) -> StoredJob:
        """The job, asserting it waits to run."""
        job = self.job(kind, ref)
        assert job is not None and job.state == "pending", job
        return job

    def balance(self, code: str) -> int:
        """The account's balance, its sub-accounts (shards) added up."""
        return sum(stored.balance for (merchant_id, stored_code), stored in self.db.accounts.items()
                   if merchant_id == self.merchant.id and family_of(stored_code) == code)

    def entries(self, kind: str) -> list[str]:
        """The refs booked under kind."""
        return [ref for (_, k, ref) in self.db.entries if k == kind]

    def history(self, key: str) -> list[Transition]:
        return [t for _, t in sorted(self.db.history.items()) if t.key == key]

    def claim(self, kind: JobKind, ref: str, *, attempt: int | None = None) -> Job:
        """Claim that one job as a worker's claim would: running, one more attempt (or this one), leased a minute."""
        stored = self.job(kind, ref)
        assert stored is not None and stored.state in ("pending", "running"), stored
        running = replace(stored, state=JobState.RUNNING, attempts=attempt or stored.attempts + 1,
                          lease_until=self.clock.now() + timedelta(minutes=1))
        self.db.jobs[(kind, ref)] = running
        return Job(stored.id, stored.merchant_id, kind, ref, running.attempts, stored.max_attempts, stored.run_at)


def build_world(*, channel_latency: float = 0) -> World:
    db = FakeDatabase()
    clock = FixedClock(START)
    channel, biller = FakeChannel(clock, channel_latency), FakeBiller(clock)
    signals = FakeSignals()
    merchant = Merchant(1, "shop-1", "一号营业厅", channel=channel.name, biller=biller.name)
    terminal = Terminal(7, merchant.id, "POS-7", "一号柜台")
    operator = Operator(11, merchant.id, "li", "李柜员", Role.OPERATOR)
    supervisor = Operator(12, merchant.id, "wang", "王主管", Role.SUPERVISOR)
    db.merchants[merchant.id] = merchant
    db.terminals[terminal.code] = (terminal, PlainSealer().seal("terminal-key"))
    for person in (operator, supervisor):
        db.operators[person.id] = (person, PlainHasher().hash(f"pw-{person.username}"))
    biller.arrears = {
        GAS_ACCOUNT: Arrears(GAS_ACCOUNT, FeeType.GAS, "张*明", "一路1号",
                             (Bill("B1", "2024-03", 3000), Bill("B2", "2024-04", 4500))),
        NO_PREPAY_ACCOUNT: Arrears(NO_PREPAY_ACCOUNT, FeeType.WATER, "王*", "二路2号",
                                   (Bill("W1", "2024-04", 2600),), prepay_allowed=False),
        SETTLED_ACCOUNT: Arrears(SETTLED_ACCOUNT, FeeType.WATER, "赵*", "三路3号", (), prepay_allowed=False),
    }
    registry = FakeRegistry(channel, biller)
    hub = AppHub(uow=FakeUnitOfWorkFactory(db), clock=clock, registry=registry, billers=registry,
              fulfillers=FulfilmentKinds([BillerPosting(billers=registry), Retail()]),
              jobs=JobHandlers([*kernel_jobs(), *card_jobs()]),
              sealer=PlainSealer(), passwords=PlainHasher(), signals=signals, policy=Policy())
    return World(db, clock, channel, biller, signals, hub, merchant, terminal, operator, supervisor)


# --- steps shared by the service tests ----------------------------------------------------------


def new_order(terminal_order_no: str = "T-1", *, amount: int = 1000, fee_type: str = "other",
              account_no: str = "X-1", bill_ids: tuple[str, ...] = ()) -> counter.NewOrder:
    return counter.NewOrder(terminal_order_no, fee_type, account_no, amount, bill_ids)


async def placed_order(world: World, *, amount: int = 1000) -> Order:
    return await counter.create_order(hub=world.hub, actor=world.actor, request=new_order(amount=amount))


async def paying_by_code(world: World, answer: PayStatus = PayStatus.PENDING, **overrides) -> Order:
    """An order whose payment code the channel answered with answer."""
    order = await placed_order(world)
    world.channel.answer("micropay", answer, **overrides)
    return await counter.pay_by_code(hub=world.hub, actor=world.actor, order_no=order.order_no,
                                     auth_code=WECHAT_CODE, client_ip="10.0.0.7")


async def paying_by_qr(world: World) -> Order:
    order = await placed_order(world)
    return await counter.pay_by_qr(hub=world.hub, actor=world.actor, order_no=order.order_no, client_ip="10.0.0.7")


async def paid_order(world: World) -> Order:
    return await paying_by_code(world, PayStatus.PAID)


async def posted_order(world: World) -> Order:
    order = await paid_order(world)
    world.biller.answer("post_payment", PostingStatus.POSTED)
    await fulfil(hub=world.hub, job=world.claim(JobKind.FULFIL, order.order_no))
    return world.order(order.order_no)
