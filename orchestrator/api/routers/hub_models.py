"""Request and response bodies of the Hub-compatible routes (``hub_*`` and ``lfs``), as
``huggingface_hub`` sends and reads them; extra fields are accepted, since newer clients send more."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class KeyValue(_Open):
    key: str
    value: str = ""
    description: str | None = None


class Key(_Open):
    key: str


class HardwareRequest(_Open):
    flavor: str
    sleepTimeSeconds: int | None = None


class SleepTimeRequest(_Open):
    seconds: int


class StorageRequest(_Open):
    tier: str


class RepoSettings(_Open):
    private: bool | None = None
    visibility: str | None = None
    gated: Any = None


class MoveRepo(_Open):
    fromRepo: str
    toRepo: str
    type: str = "model"


class DuplicateSpace(_Open):
    repository: str
    private: bool | None = None
    visibility: str | None = None
    hardware: str | None = None
    storageTier: str | None = None
    sleepTimeSeconds: int | None = None
    secrets: list[dict[str, Any]] | None = None
    variables: list[dict[str, Any]] | None = None


class ValidateYaml(_Open):
    content: str = ""
    repoType: str = "model"


class PreuploadFile(_Open):
    path: str
    sample: str = ""
    size: int = Field(default=0, ge=0)


class PreuploadRequest(_Open):
    files: list[PreuploadFile]
    gitIgnore: str | None = None


class PreuploadAnswer(BaseModel):
    path: str
    uploadMode: str
    shouldIgnore: bool
    oid: str | None = None


class PreuploadResponse(BaseModel):
    files: list[PreuploadAnswer]
    commitOid: str | None


class CommitResponse(BaseModel):
    success: bool
    commitOid: str
    commitUrl: str
    hookOutput: str = ""
    pullRequestUrl: str | None = None


class LfsObject(_Open):
    oid: str
    size: int = Field(ge=0)


class LfsBatchRequest(_Open):
    operation: str
    transfers: list[str] = ["basic"]
    objects: list[LfsObject]
    hash_algo: str = "sha256"


class RepoUrlResponse(BaseModel):
    url: str
    name: str | None = None
    id: str | None = None


class RuntimeResponse(_Open):
    """The Hub's ``SpaceRuntime`` (plus our ``sha``/``servingSha``/``buildingSha``)."""

    stage: str
    hardware: dict[str, str | None]
    storage: str | None = None
    gcTimeout: int | None = None


class SettingEntry(_Open):
    value: str | None = None
    description: str | None = None
    updatedAt: str | None = None
