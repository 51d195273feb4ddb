"""Database tables: users and their tokens, Spaces with their desired and observed state, builds, instances.

Desired state is what users asked for (``Space.desired_sha``, ``Space.generation`` bumped by a restart);
observed state is what the reconciler recorded (builds, instances, ``Space.stage``). Nothing here does I/O
beyond SQLAlchemy's mapping; queries live in ``state.queries``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from orchestrator import naming


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tokens: Mapped[list[Token]] = relationship(back_populates="user", cascade="all, delete-orphan")


class Token(Base):
    """An access token; only its SHA-256 is stored. ``role`` is ``read`` or ``write``."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(back_populates="tokens")


class Space(Base):
    __tablename__ = "spaces"
    __table_args__ = (UniqueConstraint("owner", "name"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(96))
    subdomain: Mapped[str | None] = mapped_column(String(161), unique=True, index=True, default=None)
    """``naming.subdomain(owner, name)``, kept in step with them: the app host's label, looked up per
    request. ``None`` only for a Space whose address an older Space already held when migration 0002
    added the column (until it is moved to a free name)."""
    sdk: Mapped[str] = mapped_column(String(32))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    hardware: Mapped[str] = mapped_column(String(32), default="cpu-basic")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    desired_sha: Mapped[str | None] = mapped_column(String(40), default=None)
    """Head of ``main``: what should be running."""
    generation: Mapped[int] = mapped_column(Integer, default=0)
    """Bumped by a restart request: an instance of an older generation is replaced."""

    stage: Mapped[str] = mapped_column(String(32), default="NO_APP_FILE")
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    card_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    building_sha: Mapped[str | None] = mapped_column(String(40), default=None)
    serving_sha: Mapped[str | None] = mapped_column(String(40), default=None)

    @property
    def space_id(self) -> str:
        return f"{self.owner}/{self.name}"

    @validates("owner", "name")
    def _keep_subdomain(self, key: str, value: str) -> str:
        owner = value if key == "owner" else self.owner
        name = value if key == "name" else self.name
        if owner is not None and name is not None:
            self.subdomain = naming.subdomain(owner, name)
        return value


class Build(Base):
    """One build of one commit. ``artifact`` is ``runtimes.base.Artifact`` as a dict once it succeeded."""

    __tablename__ = "builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    sha: Mapped[str] = mapped_column(String(40))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    runtime: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="running")
    """``running``, ``succeeded``, ``failed`` (BUILD_ERROR), ``config_error``, ``no_app_file``."""
    artifact: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the instance needs from the build plan: app_file, env, preload, port, startup timeout."""
    log_path: Mapped[str] = mapped_column(Text, default="")
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Instance(Base):
    """One started copy of a Space, as the runtime reported it."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"))
    sha: Mapped[str] = mapped_column(String(40))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    runtime: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str] = mapped_column(String(128))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    log_path: Mapped[str] = mapped_column(Text)
    deps_key: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="starting")
    """``starting``, ``serving``, ``draining``, ``stopped``, ``failed``."""
    exit_code: Mapped[int | None] = mapped_column(Integer, default=None)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ready_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
