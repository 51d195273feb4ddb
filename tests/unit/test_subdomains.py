"""A Space's app address (``spaces.subdomain``): backfilled by migration 0002 on SQLite and PostgreSQL,
kept in step with renames, unique, and refused with a clear message when two ids would share it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Integer,
    String,
    column,
    insert,
    inspect,
    select,
    table,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.auth import Caller
from orchestrator.control import spaces, transfers
from orchestrator.errors import ConflictError, InvalidInputError
from orchestrator.gitserver.repos import RepoStore
from orchestrator.naming import subdomain
from orchestrator.state.database import MIGRATIONS_DIR, make_engine, make_sessionmaker, migrate
from orchestrator.state.models import Space, User

# (id, owner, name, created_at day): "a-b/c" and "a/b-c" share "a-b-c"; the older one keeps it.
OLD_SPACES = [
    ("s1", "alice", "My_App.v2", 1),
    ("s2", "a", "b-c", 3),
    ("s3", "a-b", "c", 2),
    ("s4", "Bob", "Hello", 4),
]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'spaces.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


_DEFAULTS = {
    "sdk": "gradio",
    "hardware": "cpu-basic",
    "stage": "RUNNING",
    "private": False,
    "generation": 0,
    "settings": {},
    "warnings": [],
    "card_data": {},
    "updated_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
}


def _fill_0001(engine: Engine) -> None:
    """Spaces as a control plane at revision 0001 wrote them (no ``subdomain`` column)."""
    rows = table(
        "spaces",
        *(column(c, String) for c in ("id", "owner", "name", "sdk", "hardware", "stage")),
        column("private", Boolean),
        column("generation", Integer),
        *(column(c, JSON) for c in ("settings", "warnings", "card_data")),
        *(column(c, DateTime(timezone=True)) for c in ("created_at", "updated_at")),
    )
    with engine.begin() as connection:
        for space_pk, owner, name, day in OLD_SPACES:
            moment = dt.datetime(2026, 1, day, tzinfo=dt.UTC)
            connection.execute(
                insert(rows).values(id=space_pk, owner=owner, name=name, created_at=moment, **_DEFAULTS)
            )


def _subdomains(engine: Engine) -> dict[str, str | None]:
    with Session(engine) as session:
        return {s.id: s.subdomain for s in session.scalars(select(Space))}


def test_migration_0002_backfills_subdomains_of_existing_spaces(database_url: str) -> None:
    migrate(database_url, "0001")
    engine = make_engine(database_url)
    try:
        _fill_0001(engine)
        migrate(database_url)
        assert _subdomains(engine) == {
            "s1": subdomain("alice", "My_App.v2"),
            "s2": None,  # "a/b-c" is younger than "a-b/c": it gets no address until moved
            "s3": "a-b-c",
            "s4": "bob-hello",
        }
        assert subdomain("alice", "My_App.v2") == "alice-my-app-v2"
        with Session(engine) as session:  # the index is unique
            session.add(Space(id="s5", owner="bob", name="hello", sdk="gradio"))
            with pytest.raises(IntegrityError):
                session.flush()
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", database_url)
        command.downgrade(config, "0001")
        assert "subdomain" not in {c["name"] for c in inspect(engine).get_columns("spaces")}
        migrate(database_url)
        assert _subdomains(engine)["s4"] == "bob-hello"
    finally:
        engine.dispose()


@pytest.fixture
def session(sqlite_url: str) -> Iterator[Session]:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    with make_sessionmaker(engine)() as session:
        for name in ("a", "a-b", "carol", "carol-secret"):
            session.add(User(name=name))
        session.commit()
        yield session
    engine.dispose()


def _caller(name: str) -> Caller:
    return Caller(user_id=0, name=name, role="write", is_admin=False)


def _create(session: Session, repos: RepoStore, owner: str, name: str, *, private: bool = False) -> Space:
    return spaces.create_space(
        session, repos, _caller(owner), owner=owner, name=name, sdk="static", private=private, hardware=None
    )


def test_subdomain_follows_creation_and_moves(session: Session, tmp_path: Path) -> None:
    repos = RepoStore(tmp_path / "repos")
    space = _create(session, repos, "a", "Old.Name")
    assert space.subdomain == "a-old-name"
    assert spaces.find_space_by_subdomain(session, "a-old-name") is space
    owner, name = transfers.check_move(session, _caller("a"), space, "a/new_name")
    transfers.move_space(session, repos, _caller("a"), space, owner, name)
    session.expire_all()
    assert spaces.find_space_by_subdomain(session, "a-old-name") is None
    moved = spaces.find_space_by_subdomain(session, "a-new-name")
    assert moved is not None and moved.space_id == "a/new_name"
    # Renaming to a name with the same address (case, '_' or '.') is no clash with itself.
    transfers.check_move(session, _caller("a"), moved, "a/New.Name")


def test_ids_sharing_an_address_are_refused_with_a_clear_message(session: Session, tmp_path: Path) -> None:
    repos = RepoStore(tmp_path / "repos")
    _create(session, repos, "a-b", "c")
    with pytest.raises(InvalidInputError, match=r"a/b-c cannot be used: its app address 'a-b-c' .* a-b/c"):
        _create(session, repos, "a", "b-c")
    with pytest.raises(ConflictError, match="already created"):
        _create(session, repos, "a-b", "C")
    other = _create(session, repos, "a", "other")
    with pytest.raises(InvalidInputError, match="app address 'a-b-c'"):
        transfers.check_move(session, _caller("a"), other, "a/b_c")
    # A private Space's name is not told to someone who may not see it.
    _create(session, repos, "carol", "secret-x", private=True)
    with pytest.raises(InvalidInputError, match="is already that of another Space") as refused:
        _create(session, repos, "carol-secret", "x")
    assert "carol/secret-x" not in str(refused.value)


def test_a_concurrent_taker_gets_the_clear_message_not_a_database_error(
    session: Session, tmp_path: Path
) -> None:
    repos = RepoStore(tmp_path / "repos")
    taker = _create(session, repos, "a-b", "c")
    space = Space(id="late", owner="a", name="b_c", sdk="static")
    session.add(space)
    with pytest.raises(InvalidInputError, match="the Space a-b/c"):
        spaces.flush_or_explain(session, _caller("a"), "a", "b_c")
    assert session.get(Space, taker.id) is not None
