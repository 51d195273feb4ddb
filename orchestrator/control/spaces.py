"""Space use cases: create, look up, describe, delete, restart, and record a push.

Routers call these and return what they return; these never touch a runtime directly (the reconciler
does, when poked).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.auth import Caller
from orchestrator.control import sleepstate
from orchestrator.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from orchestrator.gitserver.repos import RepoStore
from orchestrator.hardware import validate_hardware
from orchestrator.naming import subdomain, validate_owner, validate_space_name
from orchestrator.settings import Settings
from orchestrator.stages import Stage
from orchestrator.state.models import Space, User, utcnow

SDKS = ("gradio", "streamlit", "static", "docker")


def find_space(session: Session, owner: str, name: str, caller: Caller | None) -> Space:
    """The Space ``owner/name`` if ``caller`` may see it; a private Space is invisible to others (404)."""
    space = session.scalars(
        select(Space).where(func.lower(Space.owner) == owner.lower(), func.lower(Space.name) == name.lower())
    ).first()
    if space is None or (space.private and not (caller and caller.may_read_private_of(space.owner))):
        raise NotFoundError(f"Space {owner}/{name} not found.")
    return space


def find_space_for_write(session: Session, owner: str, name: str, caller: Caller) -> Space:
    space = find_space(session, owner, name, caller)
    if not caller.may_write_to(space.owner):
        raise ForbiddenError(f"You don't have write access to {space.space_id}.")
    return space


def find_space_by_subdomain(session: Session, sub: str) -> Space | None:
    """The Space whose app answers at ``sub`` (an index probe: the proxy asks this per request)."""
    return session.scalars(select(Space).where(Space.subdomain == sub)).first()


def check_space_id_free(
    session: Session, caller: Caller, owner: str, name: str, *, moving: Space | None = None
) -> None:
    """Refuse ``owner/name`` when another Space holds that id (409) or the app address it derives
    (400: ``a-b/c`` and ``a/b-c`` are both ``a-b-c``). ``moving`` is the Space being renamed, if any.

    The address clash is a 400, not a 409: ``huggingface_hub``'s ``create_repo(exist_ok=True)`` takes a
    409 for "it exists already" and would carry on with a Space that does not.
    """
    others = select(Space)
    if moving is not None:
        others = others.where(Space.id != moving.id)
    same_id = session.scalars(
        others.where(func.lower(Space.owner) == owner.lower(), func.lower(Space.name) == name.lower())
    ).first()
    if same_id is not None:
        if moving is not None:
            raise ConflictError(f"You already have a Space named {owner}/{name}.")
        raise ConflictError("You already created this space repo")
    sub = subdomain(owner, name)
    clash = session.scalars(others.where(Space.subdomain == sub)).first()
    if clash is not None:
        holder = clash.space_id if not clash.private or caller.may_read_private_of(clash.owner) else None
        raise InvalidInputError(
            f"{owner}/{name} cannot be used: its app address {sub!r} (lower case, '_' and '.' as '-')"
            f" is already that of {'the Space ' + holder if holder else 'another Space'}."
            " Choose another name."
        )


def flush_or_explain(
    session: Session, caller: Caller, owner: str, name: str, *, moving: Space | None = None
) -> None:
    """Flush; when a concurrent request took the id or the address first, raise the same error as
    ``check_space_id_free`` instead of the database's."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        check_space_id_free(session, caller, owner, name, moving=moving)
        raise


def create_space(
    session: Session,
    repos: RepoStore,
    caller: Caller,
    *,
    owner: str | None,
    name: str,
    sdk: str | None,
    private: bool,
    hardware: str | None,
) -> Space:
    owner = owner or caller.name
    validate_owner(owner)
    validate_space_name(name)
    if not caller.may_write_to(owner):
        raise ForbiddenError(
            f"You cannot create a Space under {owner!r}: a write token of {owner} is needed."
        )
    if sdk is None:
        raise InvalidInputError(f"A Space needs an SDK: one of {', '.join(SDKS)}.")
    if sdk not in SDKS:
        raise InvalidInputError(f"Unknown SDK {sdk!r}: use one of {', '.join(SDKS)}.")
    if not session.scalars(select(User).where(User.name == owner)).first():
        raise NotFoundError(f"User {owner!r} not found.")
    check_space_id_free(session, caller, owner, name)
    space = Space(
        id=secrets.token_hex(12),
        owner=owner,
        name=name,
        sdk=sdk,
        private=private,
        hardware=validate_hardware(hardware or "cpu-basic"),
        stage=Stage.NO_APP_FILE,
        error_message="This Space has no commit yet: push a README.md and an app file to main.",
    )
    session.add(space)
    flush_or_explain(session, caller, owner, name)
    repos.create(owner, name)
    session.commit()
    return space


def record_push(session: Session, owner: str, name: str, new_sha: str) -> Space | None:
    space = session.scalars(select(Space).where(Space.owner == owner, Space.name == name)).first()
    if space is None:
        return None
    space.desired_sha = new_sha
    space.updated_at = utcnow()
    session.commit()
    return space


def request_restart(session: Session, space: Space, *, factory: bool) -> None:
    space.generation += 1
    space.settings = {**space.settings, "paused": False}
    if factory:
        space.settings = {**space.settings, "factory_reboot_generation": space.generation}
    space.updated_at = utcnow()
    session.commit()


def sleep_time(space: Space, settings: Settings) -> int | None:
    """Seconds without traffic before the Space sleeps (the runtime's ``gcTimeout``); ``None``: never.
    The same rule the idle controller applies (``control.sleepstate``)."""
    seconds = sleepstate.sleep_time(space.settings, space.hardware, settings.default_sleep_time)
    return None if seconds is None else int(seconds)


def runtime_view(space: Space, settings: Settings) -> dict[str, Any]:
    """The Hub's ``SpaceRuntime`` JSON, plus which commits are building and serving."""
    serving = space.serving_sha is not None
    return {
        "stage": space.stage,
        "hardware": {"current": space.hardware if serving else None, "requested": space.hardware},
        "storage": space.settings.get("storage"),
        "gcTimeout": sleep_time(space, settings),
        "replicas": {"requested": 1, "current": 1 if serving else 0},
        "devMode": False,
        "domains": [],
        "errorMessage": space.error_message,
        "sha": space.desired_sha,
        "servingSha": space.serving_sha,
        "buildingSha": space.building_sha,
        "warnings": list(space.warnings or []),
        "sdk": space.sdk,
    }


def hub_date(moment: dt.datetime) -> str:
    """The Hub's timestamps: UTC, milliseconds, ``Z`` (``huggingface_hub`` parses no other form)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def space_view(space: Space, settings: Settings) -> dict[str, Any]:
    """The Hub's ``space_info`` JSON for one Space, plus its git and app URLs."""
    sub = subdomain(space.owner, space.name)
    runtime = runtime_view(space, settings)
    runtime["domains"] = [{"domain": f"{sub}.{settings.domain}", "stage": "READY"}]
    return {
        "_id": space.id,
        "id": space.space_id,
        "author": space.owner,
        "sha": space.desired_sha,
        "createdAt": hub_date(space.created_at),
        "lastModified": hub_date(space.updated_at),
        "private": space.private,
        "gated": False,
        "disabled": False,
        "sdk": space.sdk,
        "subdomain": sub,
        "host": settings.app_url(sub).rstrip("/"),
        "gitUrl": f"{settings.effective_public_url}/spaces/{space.space_id}",
        "appUrl": settings.app_url(sub),
        "likes": 0,
        "tags": [space.sdk],
        "cardData": space.card_data or {},
        "runtime": runtime,
    }
