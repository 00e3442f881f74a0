"""``betrue db migrate | status | check | new`` against a real database (in-process, through ``betrue``'s main)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from betrue.server.cli import main

USERS = "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL UNIQUE);"


def test_check_migrate_status_and_an_edited_file(tmp_path: Path, dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "migrations"
    options = ["--dsn", dsn, "--dir", str(folder), "--namespace", "shop"]
    assert main(["db", "new", "create users", *options]) == 0
    created = folder / "0001_create_users.sql"
    assert capsys.readouterr().out.strip() == str(created)
    created.write_text(created.read_text() + USERS)

    assert main(["db", "check", *options]) == 1
    assert "0001_create_users.sql  pending" in capsys.readouterr().err
    assert main(["db", "migrate", *options]) == 0
    assert capsys.readouterr().out == "shop: 0001_create_users.sql\n"
    assert main(["db", "migrate", *options]) == 0
    assert capsys.readouterr().out == "shop: nothing to apply\n"
    assert main(["db", "check", *options]) == 0
    assert main(["db", "status", *options]) == 0
    assert "0001_create_users.sql  applied" in capsys.readouterr().out

    created.write_text(USERS + "\n-- edited later")
    assert main(["db", "check", *options]) == 1
    assert "0001_create_users.sql  changed" in capsys.readouterr().err
    assert main(["db", "migrate", *options]) == 1
    assert "0001_create_users.sql changed after it was applied" in capsys.readouterr().err


def test_app_option_reads_the_db_service_of_an_app(
    tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_users.sql").write_text(USERS)
    (tmp_path / "shopapp.py").write_text(
        "from betrue.postgres import Database\n"
        "from betrue.server import Application\n"
        f"app = Application('shop', env_file=None, environ={{'DATABASE_URL': {dsn!r}}})\n"
        f"app.add_service(Database, config={{'migrations': {str(tmp_path / 'migrations')!r}, 'namespace': 'shop'}})\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "shopapp", raising=False)
    assert main(["db", "migrate", "--app", "shopapp:app"]) == 0
    assert capsys.readouterr().out == "shop: 0001_users.sql\n"
    assert main(["db", "check", "--app", "shopapp:app"]) == 0


def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from betrue.postgres.scratch import free_port

    (tmp_path / "0001_users.sql").write_text(USERS)
    dsn = f"postgresql://shop:hunter2secret@127.0.0.1:{free_port()}/shop"
    assert main(["db", "migrate", "--dsn", dsn, "--dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "cannot connect to PostgreSQL at 127.0.0.1:" in error
    assert "hunter2secret" not in error


def test_a_bad_migration_name_is_refused(tmp_path: Path, dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "users.sql").write_text(USERS)
    assert main(["db", "status", "--dsn", dsn, "--dir", str(tmp_path)]) == 1
    assert "users.sql: a migration is named NNNN_name.sql" in capsys.readouterr().err


def test_betrue_run_refuses_to_start_without_the_database_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from betrue.postgres.scratch import free_port

    dsn = f"postgresql://shop:hunter2secret@127.0.0.1:{free_port()}/shop"
    (tmp_path / "downapp.py").write_text(
        "from betrue.postgres import Database\n"
        "from betrue.server import Application\n"
        f"settings = {{'DATABASE_URL': {dsn!r}, 'DB_CONNECT_TIMEOUT': '0.5', 'HTTP_PORT': '0', 'LOG_LEVEL': 'ERROR'}}\n"
        "app = Application('down', env_file=None, environ=settings)\n"
        "app.add_service(Database)\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "downapp", raising=False)
    assert main(["run", "downapp:app"]) == 1
    error = capsys.readouterr().err
    assert "betrue: DatabaseUnavailable: PostgreSQL at 127.0.0.1:" in error
    assert "Traceback" not in error
    assert "hunter2secret" not in error
