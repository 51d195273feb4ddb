"""Who may clone and push a Space repo over git, and what a push to ``main`` sets in motion."""

from __future__ import annotations

from orchestrator.auth import resolve_token
from orchestrator.control import spaces
from orchestrator.control.platform import Platform
from orchestrator.errors import AuthError, NotFoundError
from orchestrator.gitserver.smart_http import Authorize, Decision, GitRequest, OnPush


def make_authorize(platform: Platform) -> Authorize:
    async def authorize(request: GitRequest) -> Decision:
        with platform.sessions() as session:
            try:
                caller = resolve_token(session, request.token) if request.token else None
            except AuthError:
                return Decision.need_credentials()
            try:
                space = spaces.find_space(session, request.owner, request.name, caller)
            except NotFoundError:
                return Decision.need_credentials() if caller is None else Decision.not_found()
            if not request.write:
                return Decision.allow(caller.name if caller else None)
            if caller is None:
                return Decision.need_credentials()
            if not caller.can_write:
                return Decision.deny(
                    "Your token is read-only. Pushing needs a write token: create one with"
                    " `spaces tokens create --role write` and use it as the password."
                )
            if not caller.may_write_to(space.owner):
                return Decision.deny(f"You don't have write access to {space.space_id}.")
            return Decision.allow(caller.name)

    return authorize


def make_on_push(platform: Platform) -> OnPush:
    async def on_push(owner: str, name: str, _old: str | None, new: str | None) -> None:
        if new is None:
            return
        with platform.sessions() as session:
            space = spaces.record_push(session, owner, name, new)
        if space is not None:
            platform.reconciler.poke(space.id)

    return on_push
