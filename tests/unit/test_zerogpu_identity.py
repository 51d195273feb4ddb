"""Visitor tokens, the pool and settings files, and the ledger of ZeroGPU."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from orchestrator.errors import InvalidInputError
from orchestrator.zerogpu import identity
from orchestrator.zerogpu.identity import VisitorClaims, VisitorTokenError
from orchestrator.zerogpu.leases import ZeroSpace
from orchestrator.zerogpu.ledger import FileLedger, UsageRecord, read_ledger, summarize
from orchestrator.zerogpu.pool import load_pool
from orchestrator.zerogpu.quota import QuotaBook, Visitor
from orchestrator.zerogpu.registry import SpaceRegistry, device_api_url
from orchestrator.zerogpu.service import restore_quotas
from orchestrator.zerogpu.settings import Tier, ZeroGPUSettings, load_settings

KEY = b"k" * 32


def test_a_minted_token_verifies_for_its_space_and_names_the_visitor() -> None:
    token = identity.mint_for(KEY, subject="user:alice", tier=Tier.PRO, space_id="a/b", now=1000)
    claims = identity.verify(KEY, token, space_id="a/b", now=1010)
    assert (claims.subject, claims.tier, claims.space_id) == ("user:alice", Tier.PRO, "a/b")
    assert identity.visitor_of(claims, "a/b") == Visitor("user:alice", Tier.PRO)


def test_the_client_reads_the_token_payload_as_plain_json() -> None:
    """The `spaces` client decodes the middle part itself (to find an ``error`` claim)."""
    claims = VisitorClaims("ip:198.51.100.4", Tier.ANONYMOUS, "a/b", 0, 60, error="invalid HF token")
    payload = identity.mint(KEY, claims).split(".")[1]
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert decoded["error"] == "invalid HF token"
    verified = identity.verify(KEY, identity.mint(KEY, claims), space_id="a/b", now=1)
    assert identity.visitor_of(verified, "a/b") == Visitor("ip:198.51.100.4", Tier.ANONYMOUS)


@pytest.mark.parametrize(
    ("token", "space", "now", "why"),
    [
        (
            identity.mint_for(KEY, subject="user:a", tier=Tier.PRO, space_id="a/b", now=0, ttl_s=60),
            "a/b",
            66,
            "expired",
        ),
        (
            identity.mint_for(KEY, subject="user:a", tier=Tier.PRO, space_id="a/b", now=0),
            "x/y",
            1,
            "another Space",
        ),
        (
            identity.mint_for(b"other" * 8, subject="user:a", tier=Tier.PRO, space_id="a/b", now=0),
            "a/b",
            1,
            "signature",
        ),
        ("not-a-token", "a/b", 1, "not a JWT"),
        ("a.b.c", "a/b", 1, "malformed"),
    ],
)
def test_tokens_that_are_expired_forged_or_for_another_space_are_refused(
    token: str, space: str, now: float, why: str
) -> None:
    with pytest.raises(VisitorTokenError, match=why):
        identity.verify(KEY, token, space_id=space, now=now)


def test_a_token_with_a_raised_tier_but_the_old_signature_is_refused() -> None:
    token = identity.mint_for(KEY, subject="user:a", tier=Tier.ANONYMOUS, space_id="a/b", now=0)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["tier"] = "pro"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(VisitorTokenError, match="signature"):
        identity.verify(KEY, f"{header}.{forged}.{signature}", space_id="a/b", now=1)


def test_a_call_without_a_token_spends_the_space_s_own_anonymous_quota() -> None:
    assert identity.visitor_of(None, "a/b") == Visitor("space:a/b", Tier.ANONYMOUS)


def test_the_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    key = identity.load_or_create_key(tmp_path)
    assert len(key) == 32
    assert identity.load_or_create_key(tmp_path) == key
    assert stat.S_IMODE(identity.key_path(tmp_path).stat().st_mode) == 0o600


def test_each_space_gets_its_own_stable_secret_url() -> None:
    registry = SpaceRegistry(KEY)
    first = registry.register(ZeroSpace("alice/one"))
    second = registry.register(ZeroSpace("bob/two"))
    assert first != second and len(first) >= 32
    assert SpaceRegistry(KEY).register(ZeroSpace("alice/one")) == first
    assert registry.by_secret(first) == ZeroSpace("alice/one")
    assert device_api_url("http://127.0.0.1:9/", first) == f"http://127.0.0.1:9/{first}"
    registry.unregister("alice/one")
    assert registry.by_secret(first) is None


def test_settings_files_override_some_figures_and_errors_name_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "zerogpu.yaml"
    path.write_text("grace_s: 3\ntiers:\n  anonymous: {daily_s: 30}\n")
    settings = load_settings(path)
    assert settings.grace_s == 3
    assert settings.limits(Tier.ANONYMOUS).daily_s == 30
    assert settings.limits(Tier.PRO).daily_s == 40 * 60
    path.write_text("tiers:\n  anonymous: {daily_s: -1}\n")
    with pytest.raises(InvalidInputError, match=r"zerogpu.yaml: tiers.anonymous.daily_s"):
        load_settings(path)


def test_the_hub_s_tiers_are_the_defaults() -> None:
    settings = ZeroGPUSettings()
    daily = {tier: settings.limits(tier).daily_s for tier in Tier}
    assert daily == {Tier.ANONYMOUS: 120, Tier.REGULAR: 300, Tier.PRO: 2400}
    assert settings.quota_window_s == 24 * 3600


def test_a_pool_file_declares_devices_and_duplicates_are_named(tmp_path: Path) -> None:
    path = tmp_path / "pool.yaml"
    path.write_text(
        "devices:\n"
        "  - {index: 0, uuid: MIG-a, size: large, name: NVIDIA H200 MIG 3g.71gb, memory: 74625056768}\n"
        "  - {index: 1, uuid: GPU-b, size: xlarge, capability: [9, 0], sm_count: 132}\n"
    )
    devices = load_pool(path).devices()
    assert [(d.index, d.uuid, d.size) for d in devices] == [(0, "MIG-a", "large"), (1, "GPU-b", "xlarge")]
    assert devices[1].capability == (9, 0)
    path.write_text("devices:\n  - {index: 0, uuid: a}\n  - {index: 0, uuid: b}\n")
    with pytest.raises(
        InvalidInputError, match=r"pool\.yaml: ZeroGPU pool: two devices have the same index 0"
    ):
        load_pool(path)
    path.write_text("devices:\n  - {index: 0, uuid: a, size: huge}\n")
    with pytest.raises(InvalidInputError, match=r"pool.yaml: devices.0.size"):
        load_pool(path)


def _record(
    visitor: str, space: str, team: str | None, gpu_s: float, ended_at: float, window: float
) -> UsageRecord:
    return UsageRecord(
        space_id=space,
        team=team,
        visitor=visitor,
        tier="regular",
        task_id=1,
        device_index=0,
        device_uuid="GPU-0",
        size="large",
        requested_s=60,
        granted_at=ended_at - gpu_s,
        ended_at=ended_at,
        gpu_s=gpu_s,
        quota_s=gpu_s,
        window_started_at=window,
        outcome="ok",
    )


def test_the_ledger_file_keeps_records_and_sums_them_per_visitor_space_and_team(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path / "zerogpu" / "ledger.jsonl")
    ledger.append(_record("user:a", "t/one", "t", 10, 100, 90))
    ledger.append(_record("user:b", "t/one", "t", 5, 200, 195))
    ledger.append(_record("user:a", "u/two", None, 7, 300, 90))
    with ledger.path.open("a") as file:
        file.write('{"cut short by a cra')
    records = list(read_ledger(ledger.path))
    assert len(records) == 3
    by_space = {t.key: (t.calls, t.gpu_s) for t in summarize(records, "space")}
    assert by_space == {"t/one": (2, 15), "u/two": (1, 7)}
    by_team = {t.key: t.gpu_s for t in summarize(records, "team")}
    assert by_team == {"t": 15, "-": 7}
    assert {t.key: t.quota_s for t in summarize(records, "visitor", since=150)} == {"user:a": 7, "user:b": 5}


def test_a_restart_restores_the_quota_used_in_windows_still_open() -> None:
    settings = ZeroGPUSettings()
    book = QuotaBook(settings)
    records = [
        _record("user:a", "t/one", None, 100, 1000, 900),
        _record("user:a", "t/one", None, 50, 2000, 900),
        _record("user:b", "t/one", None, 100, 1000, -90000),  # a window closed long ago
    ]
    restore_quotas(book, records, now=5000)
    assert book.status(Visitor("user:a", Tier.REGULAR), now=5000).used_s == 150
    assert book.status(Visitor("user:a", Tier.REGULAR), now=5000).resets_at == 900 + 86400
    assert book.status(Visitor("user:b", Tier.REGULAR), now=5000).used_s == 0


def test_a_token_forwarded_by_one_space_to_another_is_rebound_by_the_proxy_not_reused() -> None:
    theirs = identity.mint_for(KEY, subject="user:a", tier=Tier.PRO, space_id="a/front", now=0, ttl_s=60)
    with pytest.raises(VisitorTokenError, match="another Space"):
        identity.verify(KEY, theirs, space_id="b/zero", now=1)
    rebound = identity.rebind(KEY, theirs, space_id="b/zero", now=1)
    claims = identity.verify(KEY, rebound, space_id="b/zero", now=1)
    assert (claims.subject, claims.tier, claims.expires_at) == ("user:a", Tier.PRO, 60)
    with pytest.raises(VisitorTokenError, match="expired"):
        identity.rebind(KEY, theirs, space_id="b/zero", now=120)
