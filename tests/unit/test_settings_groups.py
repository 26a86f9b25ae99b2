"""Business timings and card rules are grouped settings; the flat environment names of earlier releases still work."""
from __future__ import annotations

import pytest

from payhub.bootstrap import card_policy_from, policy_from
from payhub.cards.services.context import CardPolicy
from payhub.config import Settings
from payhub.kernel.services.context import Policy


def test_defaults_give_the_default_policy() -> None:
    policy = policy_from(Settings(demo=True))
    assert policy == Policy(notify_url=policy.notify_url, channel_answer_seconds=policy.channel_answer_seconds)


def test_grouped_names_win_over_flat_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYHUB_MICROPAY_POLL_SECONDS", "7")
    monkeypatch.setenv("PAYHUB_JOB_LEASE_SECONDS", "3")
    monkeypatch.setenv("PAYHUB_TIMINGS__JOB_LEASE_SECONDS", "9")
    monkeypatch.setenv("payhub_card_shards", "4")
    monkeypatch.setenv("PAYHUB_CARDS__PASSWORD_TRIES", "5")
    settings = Settings(demo=True, timings={"session_hours": 1})
    policy = policy_from(settings)
    assert (policy.micropay_poll_seconds, policy.job_lease_seconds, policy.session_hours) == (7, 9, 1)
    assert card_policy_from(settings) == CardPolicy(shards=4, password_tries=5)


def test_grouped_values_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYHUB_CARD_SHARDS", "0")
    with pytest.raises(ValueError, match="shards"):
        Settings(demo=True)
