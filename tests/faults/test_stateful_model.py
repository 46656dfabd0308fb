"""A stateful model-based test of the shop's money and stock books (issue 12, the fault suite).

Hypothesis drives, in any order, through the contexts' public services against the real
PostgreSQL and stripe-mock: add-to-cart, checkout (cart or "buy now", with or without a coupon),
starting a Stripe payment, the signed success webhook and its redelivery, cancellation, the
payment-timeout sweep, the reservation-expiry sweep (an order still awaiting payment whose units
went back), a LATE success (after the reservation expired: held again, or — units sold
meanwhile — cancelled and refunded; after the order was cancelled: refunded), partial, repeated
and full refunds, their webhook, and the refund sweep. After every step the books must agree:
stock, coupon and money, each against the others and against the model (stateful_books.py says
exactly what).

The rules check their own outcome against the model too (a refund is refused exactly when it
exceeds what is left; a late success with units free pays, without units cancels). The test
also asserts that the sequences reached every path above (PATHS): a machine that never gets
there proves nothing.

Planted bugs (temporarily, with monkeypatch in an uncommitted test file; 2026-12-02, load 10-13),
each caught by BOTH tests with the settings below — the search within its first 16-24 s, the tour
at the step that exercises it:
- refunds not capped by what is left (`apps.payment.services.refunds.in_flight_amount` -> 0):
  the refund rule's model (700 accepted with 300 left), and "no refund past the capture";
- stock not confirmed on pay (`apps.inventory.services.stock_confirm` a no-op returning True):
  on_hand 5 with one unit paid, no CONFIRMED reservation for a paid order;
- a late payment marks PAID without holding the units again
  (`apps.order.services.late_payment._hold_again_if_released` -> None): the late-payment rule
  (PAID with 0 units free for 1), and the reservation/on_hand books;
- refunded_total recorded one cent short (`apps.order.services.order_record_refund`): 299 vs 300;
- a coupon use never given back on cancel (`apps.promotion.services.coupon_release` a no-op).
Last session's refund-total plant went uncaught for a reason not found then; the same plant
patched on `apps.order.services` (where the payment context looks it up; a patch on
`...services.transitions` would never reach that call) is caught now. Shrinking is off by default
(see SETTINGS); with NEXUSCART_MODEL_SHRINK=1 a failure takes minutes to shrink.

Events an order publishes (OrderCancelled) are applied to their consumer groups (promotion gives
the coupon back, payment cancels the open PaymentIntent) after each step, as the consumers would.
It kills nothing, so it runs on the test database and stripe-mock of the run (transactional: every
service commits as in production, so the provider calls run with no transaction open).

Where it lives: the state machine and its rules in stateful_shop.py, the book checks run after
every step in stateful_books.py; here the search's settings, the tour and the two tests.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.faults.stateful_shop import BIG_PARTIAL, HITS, PARTIAL, PATHS, ShopBooks

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.timeout(420)]

SETTINGS = settings(
    max_examples=30,
    stateful_step_count=20,
    derandomize=True,  # CI runs the same sequences every time
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    # The first failing sequence is reported as found (at most 20 steps): shrinking it replays
    # it against the database hundreds of times (minutes). NEXUSCART_MODEL_SHRINK=1 shrinks.
    phases=[
        Phase.explicit,
        Phase.reuse,
        Phase.generate,
        *([Phase.shrink] if os.environ.get("NEXUSCART_MODEL_SHRINK") else []),
    ],
    report_multiple_bugs=False,
)


# derandomize alone draws from a seed Hypothesis hashes from the machine class's source, so any
# edit of ShopBooks (a comment, or moving its book checks out to stateful_books) silently draws
# other sequences. Pinned instead to the seed the class's source gave before that split: the
# search runs the sequences the planted bugs above were measured on, whatever the class's text.
SEQUENCE_SEED = int(
    "5f27034d74344e5fa3e15c1be96beddd626953a6834ebf94ed43375ba9b0a348f92ca3b177e7acf92c9298357194b31c", 16
)

# Every path once, in a fixed order (each step followed by the books), so that the paths are
# certainly exercised whatever sequences the search below happens to draw.
TOUR = [
    ("pay", {"index": 0, "awaiting_only": True}),  # the first order (coupon, 900): paid
    ("redeliver_webhook", {"index": 0}),
    ("refund", {"index": 0, "asked": PARTIAL}),  # 300 of 900
    ("refund", {"index": 0, "asked": BIG_PARTIAL}),  # 700 > the 600 left: refused
    ("refund", {"index": 0, "asked": None}),  # the 600 left: REFUNDED
    ("checkout", {"buyer": 1, "coupon": False}),
    ("pay_late", {"index": 0, "units_sold_meanwhile": False}),  # reservation expired, units free: held again
    ("checkout", {"buyer": 1, "coupon": False}),
    ("pay_late", {"index": 0, "units_sold_meanwhile": True}),  # expired, the other buyer took them: refunded
    ("succeed_after_cancel", {"index": 0, "by_sweep": False}),  # that buyer's order: cancelled, then paid
    ("checkout", {"buyer": 0, "coupon": True}),
    ("succeed_after_cancel", {"index": 0, "by_sweep": True}),
    ("refund_sweep", {}),
    ("checkout", {"buyer": 0, "coupon": False}),
    ("expire", {}),
    ("refund_any", {"index": 0}),
]


def test_a_tour_of_every_path_keeps_the_books(redis_client):
    HITS.clear()
    machine = ShopBooks()
    try:
        machine.open_shop()
        machine.books_agree()
        for name, arguments in TOUR:
            getattr(machine, name)(**arguments)
            machine.books_agree()
    finally:
        machine.teardown()
    assert set(HITS) >= PATHS, f"paths never reached: {sorted(PATHS - set(HITS))} (reached: {dict(HITS)})"


def test_any_sequence_of_shop_operations_keeps_the_books(redis_client):
    HITS.clear()
    run_state_machine_as_test(seed(SEQUENCE_SEED)(ShopBooks), settings=SETTINGS)
    print(f"paths reached: {dict(HITS)}")  # what the search covered (seen with -s)
    # The search must get far on its own too (the tour above is what guarantees every path). Not
    # a fixed list: the same seed reaches other paths when the machine is loaded, because a rule's
    # precondition reads real state (CI under load 9 missed `late_paid_units_held_again` but took
    # the other late path twice, reaching eight of the ten).
    reached = set(HITS) & PATHS
    found = f"the search reached only {sorted(reached)} ({dict(HITS)})"
    assert len(reached) >= 6, found
    assert "paid" in reached, found
    assert reached & {"partial_refund", "full_refund"}, found
