"""Request bodies of the control plane's API (responses follow the Hub's JSON shapes as plain dicts)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CreateUser(BaseModel):
    name: str
    admin: bool = False


class CreateToken(BaseModel):
    role: str = "write"
    name: str | None = None


class CreateRepo(BaseModel):
    """``POST /api/repos/create`` as ``huggingface_hub`` sends it."""

    name: str
    organization: str | None = None
    type: str = "model"
    sdk: str | None = None
    private: bool | None = None
    visibility: str | None = None
    hardware: str | None = None
    sleepTimeSeconds: int | None = None
    storageTier: str | None = None
    secrets: list[dict[str, Any]] | None = None
    variables: list[dict[str, Any]] | None = None


class DeleteRepo(BaseModel):
    name: str
    organization: str | None = None
    type: str = "model"


class TokenOut(BaseModel):
    token: str
    role: str = Field(default="write")
