"""A node that cannot work refuses to start with one line saying why, not a traceback: a
database behind its code (migrations a separate step) or ahead of it, a database or broker
it cannot reach. (A cluster node without its signing secret: tests/cluster/test_backends.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from backdrop.db.migrate import head_revision
from backdrop.db.session import make_engine
from tests.cli.process import run_backdrop
from tests.infra import free_port

SECRET = "refusal-test-secret-0123456789abcdef0123"


def _one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def _serve(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_backdrop("serve", "--port", str(free_port()), data_dir=data_dir, **env)


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name = 'alembic_version'"
            ).all()
            if not tables:
                return None
            value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return None if value is None else str(value)
    finally:
        engine.dispose()


def test_a_database_behind_the_code_is_refused_when_migrations_are_a_step(tmp_path: Path) -> None:
    data = tmp_path / "data"
    off = {"BACKDROP_DATABASE__MIGRATE_ON_START": "false"}
    line = _one_line_refusal(_serve(data, **off), "behind", "`backdrop db upgrade`")
    assert "empty" in line
    url = f"sqlite:///{(data / 'backdrop.db').resolve()}"
    assert _revision(url) is None  # nothing was migrated
    keys = run_backdrop("keys", "list", data_dir=data, **off)
    _one_line_refusal(keys, "`backdrop db upgrade`")

    current = run_backdrop("db", "current", data_dir=data)
    assert current.returncode == 1 and "behind" in current.stdout
    upgraded = run_backdrop("db", "upgrade", data_dir=data)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"migrated from an empty database to {head_revision()}" in upgraded.stdout
    again = run_backdrop("db", "upgrade", data_dir=data)
    assert again.returncode == 0 and "already at" in again.stdout
    current = run_backdrop("db", "current", data_dir=data)
    assert current.returncode == 0 and "current" in current.stdout
    # Now at head: the same process starts far enough to make its first key.
    made = run_backdrop("keys", "create", "--credits", "1", data_dir=data, **off)
    assert made.returncode == 0, made.stderr


def test_a_database_ahead_of_the_code_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_backdrop("db", "upgrade", data_dir=data).returncode == 0
    url = f"sqlite:///{(data / 'backdrop.db').resolve()}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    engine.dispose()
    # Migrate-on-start is on (the default): still refused, never downgraded.
    _one_line_refusal(_serve(data), "0099_from_the_future", "ahead", "never downgrades")
    _one_line_refusal(run_backdrop("db", "upgrade", data_dir=data), "ahead")
    assert run_backdrop("db", "current", data_dir=data).returncode == 1
    assert _revision(url) == "0099_from_the_future"


def test_an_unreachable_database_is_said_in_one_line(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/backdrop"
    line = _one_line_refusal(
        _serve(tmp_path / "data", BACKDROP_DATABASE_URL=url), "cannot reach the database"
    )
    assert "BACKDROP_DATABASE_URL" in line
    _one_line_refusal(
        run_backdrop("db", "upgrade", data_dir=tmp_path, BACKDROP_DATABASE_URL=url),
        "cannot reach the database",
    )


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_unreachable_broker_is_said_in_one_line(tmp_path: Path, command: str) -> None:
    env = {
        "BACKDROP_QUEUE__BACKEND": "celery",
        "BACKDROP_QUEUE__BROKER_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}//",
        "BACKDROP_SIGNING_SECRET": SECRET,
    }
    if command == "serve":
        result = _serve(tmp_path / "data", **env)
    else:
        result = run_backdrop("worker", data_dir=tmp_path / "data", **env)
    line = _one_line_refusal(result, "cannot reach the broker", "BACKDROP_QUEUE__BROKER_URL")
    assert "guest:guest" not in line  # the password is not printed
