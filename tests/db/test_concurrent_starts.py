"""Processes started at the same instant on one empty database all come up, once each.

Six real processes per start, as compose or Kubernetes start a cluster: each imports
everything first, then waits for a shared instant and runs what `backdrop serve` and
`backdrop worker` run at start (db/migrate.py `prepare`), or `backdrop db upgrade`. Before
the migration lock, one of them died with `DuplicateTable: relation "api_keys" already
exists`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from backdrop.db.migrate import head_revision, schema_state
from backdrop.db.session import make_engine
from tests.conftest import POSTGRES_ADMIN_URL

PROCESSES = 6
# What each start-up process runs once its imports are done: wait for the shared instant,
# then bring the database to head as a starting node does.
START = """
import os, sys
from backdrop.db.migrate import prepare
from backdrop.db.session import Database
db = Database(os.environ["BACKDROP_DATABASE_URL"])
print("ready", flush=True)
sys.stdin.readline()
prepare(db.engine, migrate=True)
db.dispose()
"""
# `backdrop db upgrade`, its imports done before the shared instant.
CLI = """
import sys
from backdrop.cli.main import app
import backdrop.db.migrate, backdrop.db.session
print("ready", flush=True)
sys.stdin.readline()
sys.argv = ["backdrop", "db", "upgrade"]
app()
"""


def _start_together(url: str, tmp_path: Path) -> list[subprocess.CompletedProcess[str]]:
    """Half the processes start as nodes do, half run `backdrop db upgrade`; all are let go
    at one instant (a line on their stdin), once every one has done its imports."""
    env = {**os.environ, "BACKDROP_DATABASE_URL": url, "BACKDROP_DATA_DIR": str(tmp_path)}
    commands = [[sys.executable, "-c", START if i % 2 == 0 else CLI] for i in range(PROCESSES)]
    processes = [
        subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready", process.stderr
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for command, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return results


def _assert_all_up(results: list[subprocess.CompletedProcess[str]], url: str) -> None:
    failed = [r for r in results if r.returncode != 0]
    assert not failed, "\n".join(f"rc={r.returncode}\n{r.stderr[-3000:]}" for r in failed)
    upgraded = [r.stdout for r in results if r.args[-1] == CLI]
    # Exactly one of all six migrated; every `db upgrade` that did not found it at head.
    assert sum("migrated from an empty database" in out for out in upgraded) <= 1
    engine = make_engine(url)
    try:
        state = schema_state(engine)
        assert state.current == head_revision() and not state.behind and not state.ahead
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert versions == [(head_revision(),)]
        assert {"api_keys", "orders", "images"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def fresh_postgres() -> Iterator[Iterator[str]]:
    """Fresh PostgreSQL databases on the local server, one per call, all dropped after."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def databases() -> Iterator[str]:
        while True:
            name = f"backdrop_test_{secrets.token_hex(4)}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            names.append(name)
            yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    yield databases()
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_six_processes_start_together_on_a_fresh_postgres_ten_times(
    fresh_postgres: Iterator[str], tmp_path: Path
) -> None:
    for repetition in range(10):
        url = next(fresh_postgres)
        _assert_all_up(_start_together(url, tmp_path / str(repetition)), url)


def test_six_processes_start_together_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    for repetition in range(3):
        url = f"sqlite:///{tmp_path / str(repetition) / 'backdrop.db'}"
        _assert_all_up(_start_together(url, tmp_path / str(repetition)), url)
