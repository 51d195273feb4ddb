"""Who draws on which team's quota: a user belongs to one or more teams (organisations, as on the Hub);
a Space owned by a team draws on that team, one owned by a user on the user's first team, else on the
default team, else on none (then only flavors without a GPU quota are open to it)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TeamDirectory:
    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """User name -> the teams they belong to, the first being the one their own Spaces draw on."""
    default_team: str | None = None

    def team_of(self, owner: str, teams: Collection[str]) -> str | None:
        """The team a Space owned by ``owner`` (a user or a team) draws on; ``teams`` are the known ones."""
        if owner in teams:
            return owner
        for team in self.members.get(owner, ()):
            return team
        return self.default_team

    def teams_of(self, user: str) -> tuple[str, ...]:
        return self.members.get(user, ())
