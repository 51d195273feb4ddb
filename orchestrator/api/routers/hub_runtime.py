"""The Hub's Space control endpoints: hardware, sleep time, pause, storage, secrets and variables.

Thin: each route finds the Space with the caller's rights, calls ``control.space_settings`` and pokes
the reconciler when the change affects what runs. Secret values go in, never out.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from orchestrator.api.deps import get_platform, get_session, optional_caller, require_caller
from orchestrator.api.routers.hub_models import (
    HardwareRequest,
    Key,
    KeyValue,
    RuntimeResponse,
    SettingEntry,
    SleepTimeRequest,
    StorageRequest,
)
from orchestrator.auth import Caller
from orchestrator.control import space_settings, spaces
from orchestrator.control.platform import Platform

router = APIRouter(prefix="/api/spaces/{owner}/{name}", tags=["spaces"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request"},
    401: {"description": "Missing or invalid token"},
    403: {"description": "No write access"},
    404: {"description": "No such Space (or it is private)"},
}


@router.post("/hardware", response_model=RuntimeResponse, responses=_ERRORS)
def request_hardware(
    owner: str,
    name: str,
    body: HardwareRequest,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    space_settings.request_hardware(session, space, body.flavor, body.sleepTimeSeconds)
    platform.reconciler.poke(space.id)
    return spaces.runtime_view(space, platform.settings)


@router.post("/sleeptime", response_model=RuntimeResponse, responses=_ERRORS)
def set_sleep_time(
    owner: str,
    name: str,
    body: SleepTimeRequest,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    space_settings.set_sleep_time(session, space, body.seconds)
    return spaces.runtime_view(space, platform.settings)


@router.post("/pause", response_model=RuntimeResponse, responses=_ERRORS)
def pause_space(
    owner: str,
    name: str,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    space_settings.pause(session, space)
    platform.reconciler.poke(space.id)
    return {**spaces.runtime_view(space, platform.settings), "stage": "PAUSED"}


@router.post("/storage", response_model=RuntimeResponse, responses=_ERRORS)
def request_storage(
    owner: str,
    name: str,
    body: StorageRequest,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    space_settings.set_storage(session, space, body.tier)
    return spaces.runtime_view(space, platform.settings)


@router.delete("/storage", response_model=RuntimeResponse, responses=_ERRORS)
def delete_storage(
    owner: str,
    name: str,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    space_settings.delete_storage(session, space)
    return spaces.runtime_view(space, platform.settings)


@router.get("/secrets", response_model=dict[str, SettingEntry], responses=_ERRORS)
def list_secrets(
    owner: str,
    name: str,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
) -> dict[str, dict[str, Any]]:
    return space_settings.secrets_view(spaces.find_space_for_write(session, owner, name, caller))


@router.post("/secrets", response_model=dict[str, Any], responses=_ERRORS)
def add_secret(
    owner: str,
    name: str,
    body: KeyValue,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    space_settings.set_entry(session, space, "secrets", body.key, body.value, body.description)
    platform.reconciler.poke(space.id)
    return {}


@router.delete("/secrets", response_model=dict[str, Any], responses=_ERRORS)
def delete_secret(
    owner: str,
    name: str,
    body: Key,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    space_settings.delete_entry(session, space, "secrets", body.key)
    platform.reconciler.poke(space.id)
    return {}


@router.get("/variables", response_model=dict[str, SettingEntry], responses=_ERRORS)
def list_variables(
    owner: str,
    name: str,
    caller: Caller | None = Depends(optional_caller),
    session: Session = Depends(get_session),
) -> dict[str, dict[str, Any]]:
    return space_settings.variables_view(spaces.find_space(session, owner, name, caller))


@router.post("/variables", response_model=dict[str, SettingEntry], responses=_ERRORS)
def add_variable(
    owner: str,
    name: str,
    body: KeyValue,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, dict[str, Any]]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    space_settings.set_entry(session, space, "variables", body.key, body.value, body.description)
    platform.reconciler.poke(space.id)
    return space_settings.variables_view(space)


@router.delete("/variables", response_model=dict[str, SettingEntry], responses=_ERRORS)
def delete_variable(
    owner: str,
    name: str,
    body: Key,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, dict[str, Any]]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    space_settings.delete_entry(session, space, "variables", body.key)
    platform.reconciler.poke(space.id)
    return space_settings.variables_view(space)
