"""Quotas and team membership from a YAML file an admin writes (the API and CLI will store the same
values); every mistake is reported with the file and line.

    teams:
      research:
        cohort: lab
        preemption: {within_team: LowerPriority, reclaim_within_cohort: Any}
        quotas:
          a10g-small: 4                                    # nominal quota of the flavor's GPU resource
          a10g-large: {nominal: 2, borrowing_limit: 2, lending_limit: 1}
          a100-large:                                      # per resource
            nvidia.com/gpu: {nominal: 2, borrowing_limit: 1}
            cpu: 24
            memory: 284Gi
          cpu-upgrade: {cpu: 32}
      everyone: {}
    members:
      alice: [research, vision]        # her own Spaces draw on research
    default_team: everyone             # users in no team
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import InvalidInputError
from orchestrator.scheduling import quantities as q
from orchestrator.scheduling.flavors import Catalog, Flavor
from orchestrator.scheduling.quotas import (
    Key,
    Preemption,
    QuotaBook,
    ReclaimWithinCohort,
    ResourceQuota,
    TeamQuota,
    WithinTeam,
)
from orchestrator.scheduling.teams import TeamDirectory
from orchestrator.scheduling.yamlfile import Doc, parse_yaml, read_yaml

_LIMIT_KEYS = {"nominal", "borrowing_limit", "lending_limit"}


def load_quotas(path: str | Path, catalog: Catalog) -> tuple[QuotaBook, TeamDirectory]:
    return parse_quotas_doc(read_yaml(path), catalog)


def parse_quotas(text: str, catalog: Catalog, source: str = "<quotas>") -> tuple[QuotaBook, TeamDirectory]:
    return parse_quotas_doc(parse_yaml(text, source), catalog)


def parse_quotas_doc(doc: Doc, catalog: Catalog) -> tuple[QuotaBook, TeamDirectory]:
    root = doc.check_keys("the quota file", {"teams", "members", "default_team"})
    teams: dict[str, TeamQuota] = {}
    for name, team_doc in root["teams"].items("teams") if "teams" in root else []:
        teams[name] = _team(name, team_doc, catalog)
    members: dict[str, tuple[str, ...]] = {}
    for user, teams_doc in root["members"].items("members") if "members" in root else []:
        names = tuple(item.text(f"a team of {user}") for item in teams_doc.sequence(f"teams of {user}"))
        for item, team in zip(teams_doc.sequence(f"teams of {user}"), names, strict=True):
            if team not in teams:
                raise item.error(f"{user} is in team {team!r}, which is not defined under teams")
        members[user] = names
    default = None
    if "default_team" in root:
        default = root["default_team"].text("default_team")
        if default not in teams:
            raise root["default_team"].error(f"default_team {default!r} is not defined under teams")
    return QuotaBook(teams), TeamDirectory(members, default)


def _team(name: str, doc: Doc, catalog: Catalog) -> TeamQuota:
    what = f"team {name!r}"
    fields = doc.check_keys(what, {"cohort", "preemption", "quotas"})
    cohort = fields["cohort"].text(f"{what} cohort") if "cohort" in fields else None
    preemption = _preemption(fields["preemption"], what) if "preemption" in fields else Preemption()
    limits: dict[Key, ResourceQuota] = {}
    for flavor_name, quota_doc in fields["quotas"].items(f"{what} quotas") if "quotas" in fields else []:
        flavor = catalog.get(flavor_name)
        if flavor is None:
            raise quota_doc.error(f"{what}: unknown flavor {flavor_name!r} (known: {', '.join(catalog)})")
        mine = {
            (flavor.name, resource): quota
            for resource, quota in _flavor_limits(flavor, quota_doc, what).items()
        }
        try:
            TeamQuota(name, cohort, mine)  # checks the limits, so the error points at this flavor's line
        except InvalidInputError as exc:
            raise quota_doc.error(exc.message) from exc
        limits.update(mine)
    return TeamQuota(name, cohort, limits, preemption)


def _flavor_limits(flavor: Flavor, doc: Doc, what: str) -> dict[str, ResourceQuota]:
    where = f"{what}, {flavor.name}"
    held = dict(flavor.requests)
    gpu = flavor.gpu.resource if flavor.holds_gpu and flavor.gpu is not None else None
    if doc.is_scalar() or set(doc.mapping(where)) <= _LIMIT_KEYS:
        if gpu is None:
            raise doc.error(f"{where}: this flavor has no GPU; give its resources (cpu: 8, memory: 32Gi)")
        return {gpu: _limit(doc, gpu, where)}
    out: dict[str, ResourceQuota] = {}
    for resource, value in doc.items(where):
        if resource not in held:
            raise value.error(f"{where}: the flavor does not use {resource!r} (it uses {', '.join(held)})")
        out[resource] = _limit(value, resource, f"{where} {resource}")
    return out


def _limit(doc: Doc, resource: str, what: str) -> ResourceQuota:
    if doc.is_scalar():
        return ResourceQuota(_amount(doc, resource, what))
    fields = doc.check_keys(what, _LIMIT_KEYS, {"nominal"})
    nominal = _amount(fields["nominal"], resource, f"{what} nominal")
    borrow = _amount(fields["borrowing_limit"], resource, what) if "borrowing_limit" in fields else None
    lend = _amount(fields["lending_limit"], resource, what) if "lending_limit" in fields else None
    return ResourceQuota(nominal, borrow, lend)


def _amount(doc: Doc, resource: str, what: str) -> int:
    try:
        return q.parse_amount(resource, doc.text(what), what)
    except q.QuantityError as exc:
        raise doc.error(str(exc)) from exc


def _preemption(doc: Doc, what: str) -> Preemption:
    fields = doc.check_keys(f"{what} preemption", {"within_team", "reclaim_within_cohort"})
    default = Preemption()
    within = (
        fields["within_team"].choice(f"{what}: within_team", WithinTeam) if "within_team" in fields else None
    )
    reclaim = (
        fields["reclaim_within_cohort"].choice(f"{what}: reclaim_within_cohort", ReclaimWithinCohort)
        if "reclaim_within_cohort" in fields
        else None
    )
    return Preemption(within or default.within_team, reclaim or default.reclaim_within_cohort)
