"""The admin's quota file: teams, cohorts, limits and members, with mistakes named by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.scheduling.errors import ConfigFileError
from orchestrator.scheduling.flavors import default_catalog
from orchestrator.scheduling.quota_file import load_quotas
from orchestrator.scheduling.quotas import ReclaimWithinCohort, ResourceQuota, WithinTeam

GIB = 2**30
GOOD = """
teams:
  research:
    cohort: lab
    preemption: {within_team: Never, reclaim_within_cohort: LowerPriority}
    quotas:
      a10g-small: 4
      a10g-large: {nominal: 2, borrowing_limit: 2, lending_limit: 1}
      a100-large:
        nvidia.com/gpu: {nominal: 2, borrowing_limit: 1}
        memory: 284Gi
      cpu-upgrade: {cpu: 32}
  everyone: {}
members:
  alice: [research, everyone]
default_team: everyone
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quotas.yaml"
    path.write_text(text)
    return path


def test_a_quota_file_gives_kueue_limits_and_memberships(tmp_path: Path) -> None:
    book, directory = load_quotas(write(tmp_path, GOOD), default_catalog())
    research = book.teams["research"]
    assert research.cohort == "lab"
    assert research.preemption.within_team is WithinTeam.NEVER
    assert research.preemption.reclaim_within_cohort is ReclaimWithinCohort.LOWER_PRIORITY
    assert research.get("a10g-small", "nvidia.com/gpu") == ResourceQuota(4)
    assert research.get("a10g-large", "nvidia.com/gpu") == ResourceQuota(2, 2, 1)
    assert research.get("a100-large", "nvidia.com/gpu") == ResourceQuota(2, 1)
    assert research.get("a100-large", "memory") == ResourceQuota(284 * GIB)
    assert research.get("cpu-upgrade", "cpu") == ResourceQuota(32000)
    assert book.teams["everyone"].limits == {}
    assert directory.team_of("alice", book.teams) == "research"
    assert directory.team_of("research", book.teams) == "research"
    assert directory.team_of("stranger", book.teams) == "everyone"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("teams:\n  a:\n    quotas:\n      a10g-smol: 1\n", 4, "unknown flavor 'a10g-smol'"),
        ("teams:\n  a:\n    quotas:\n      cpu-basic: 2\n", 4, "has no GPU"),
        ("teams:\n  a:\n    quotas:\n      a10g-small: {nvidia.com/mig-1g.10gb: 1}\n", 4, "does not use"),
        (
            "teams:\n  a:\n    quotas:\n      a10g-small: {nominal: 1, borrowing_limit: 1}\n",
            4,
            "need a cohort",
        ),
        ("teams:\n  a:\n    quotas:\n      cpu-basic: {memory: 16GB}\n", 4, "write 16Gi"),
        ("teams:\n  a:\n    preemption: {within_team: Always}\n", 3, "within_team is Never or LowerPriority"),
        ("teams:\n  a: {}\nmembers:\n  alice: [a, b]\n", 4, "team 'b', which is not defined"),
        ("teams:\n  a: {}\ndefault_team: z\n", 3, "default_team 'z'"),
        (
            "teams:\n  a:\n    cohort: lab\n    quotas:\n      a10g-small: {nominal: 1, lending_limit: 2}\n",
            5,
            "lending limit",
        ),
    ],
)
def test_quota_file_mistakes_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as caught:
        load_quotas(path, default_catalog())
    assert (caught.value.path, caught.value.line) == (str(path), line), caught.value.message
    assert words in caught.value.message
