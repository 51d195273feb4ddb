"""Duplicating a Space and moving it to a new id: the Hub's ``duplicate_space`` and ``move_repo``.

A duplicate copies the git history (and so the LFS pointers, whose objects are shared) and the public
variables, never the secrets, like the Hub. A move renames the Space's row and repository; the caller
stops the old instances first and pokes the reconciler after, so the app comes back at its new address.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from orchestrator.auth import Caller
from orchestrator.control import spaces
from orchestrator.control.space_settings import initial_settings
from orchestrator.errors import ForbiddenError
from orchestrator.gitserver.repos import RepoStore
from orchestrator.naming import split_space_id
from orchestrator.state.models import Space, utcnow


def duplicate_space(
    session: Session,
    repos: RepoStore,
    caller: Caller,
    source: Space,
    *,
    to_id: str,
    private: bool | None,
    hardware: str | None,
    sleep_time: int | None,
    storage: str | None,
    secrets: list[dict[str, Any]] | None,
    variables: list[dict[str, Any]] | None,
) -> Space:
    owner, name = split_space_id(to_id)
    settings = initial_settings(secrets=secrets, variables=None, sleep_time=sleep_time, storage=storage)
    copied_variables = {k: dict(v) for k, v in (source.settings.get("variables") or {}).items()}
    requested = initial_settings(secrets=None, variables=variables, sleep_time=None, storage=None)
    copied_variables.update(requested.get("variables", {}))
    if copied_variables:
        settings["variables"] = copied_variables
    space = spaces.create_space(
        session,
        repos,
        caller,
        owner=owner,
        name=name,
        sdk=source.sdk,
        private=source.private if private is None else private,
        hardware=hardware,
    )
    space.settings = settings
    space.card_data = dict(source.card_data or {})
    session.commit()
    head = repos.copy_history(owner, name, source.owner, source.name)
    if head is not None:
        spaces.record_push(session, owner, name, head)
    return space


def check_move(session: Session, caller: Caller, space: Space, to_id: str) -> tuple[str, str]:
    """Where ``space`` may move to: a free id and app address in a namespace the caller writes to."""
    owner, name = split_space_id(to_id)
    if not caller.may_write_to(owner):
        raise ForbiddenError(f"You cannot move a Space to {owner!r}: a write token of {owner} is needed.")
    spaces.check_space_id_free(session, caller, owner, name, moving=space)
    return owner, name


def move_space(
    session: Session, repos: RepoStore, caller: Caller, space: Space, owner: str, name: str
) -> None:
    """Rename ``space`` (and so its app address) and its repository to ``owner/name`` (its instances
    are already stopped). The row is written first: a name taken meanwhile leaves the repository alone."""
    old_owner, old_name = space.owner, space.name
    space.owner, space.name = owner, name
    space.serving_sha = None
    space.generation += 1
    space.updated_at = utcnow()
    spaces.flush_or_explain(session, caller, owner, name, moving=space)
    if (old_owner, old_name) != (owner, name):
        repos.rename(old_owner, old_name, owner, name)
    session.commit()
