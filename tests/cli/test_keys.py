"""`backdrop keys` as an operator runs it: revoke, top up, and never a silent empty data dir."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from backdrop.api.app import create_app
from backdrop.serving.node import EmbeddedNode
from tests.cli.process import run_backdrop as _backdrop


def _create(data_dir: Path, name: str, credits: str = "2") -> str:
    created = _backdrop("keys", "create", "--credits", credits, "--name", name, data_dir=data_dir)
    assert created.returncode == 0, created.stderr
    # The operator is told which data dir and database the key went into.
    assert str(data_dir.resolve()) in created.stderr and "backdrop.db" in created.stderr
    return created.stdout.strip().splitlines()[-1]


def test_list_revoke_and_add_credits_refuse_a_missing_data_dir(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "data"
    for args in (("list",), ("revoke", "shop"), ("add-credits", "shop", "--credits", "5")):
        run = _backdrop("keys", *args, data_dir=missing)
        assert run.returncode == 1, args
        assert f"no data dir at {missing}" in run.stderr and "BACKDROP_DATA_DIR" in run.stderr
    assert not missing.exists()  # nothing was created on the way


def test_add_credits_and_revoke(tmp_path: Path, runtime: EmbeddedNode) -> None:
    data_dir = runtime.settings.data_dir
    secret = _create(data_dir, "shop")
    topped = _backdrop("keys", "add-credits", "shop", "--credits", "7.5", data_dir=data_dir)
    assert topped.returncode == 0, topped.stderr
    assert topped.stdout.strip() == "9.5" and "now has 9.5 credits" in topped.stderr
    listed = _backdrop("keys", "list", data_dir=data_dir)
    assert "shop" in listed.stdout and "9.5" in listed.stdout

    with TestClient(create_app(runtime.api)) as client:
        account = client.get("/external/api/v1/account", headers={"x-api-key": secret})
        assert account.json()["body"]["credits"] == 9.5
        revoked = _backdrop("keys", "revoke", "shop", data_dir=data_dir)
        assert revoked.returncode == 0 and "Revoked key 'shop'" in revoked.stderr
        refused = client.get("/external/api/v1/account", headers={"x-api-key": secret})
        assert refused.status_code == 403 and "revoked" in refused.json()["body"]["detail"]
    assert "revoked" in _backdrop("keys", "list", data_dir=data_dir).stdout

    bad = _backdrop("keys", "add-credits", "shop", "--credits", "0", data_dir=data_dir)
    assert bad.returncode == 1 and "more than 0" in bad.stderr
    unknown = _backdrop("keys", "revoke", "nobody", data_dir=data_dir)
    assert unknown.returncode == 1 and "no key with the id or name 'nobody'" in unknown.stderr
    _create(data_dir, "twin")
    _create(data_dir, "twin")
    twins = _backdrop("keys", "add-credits", "twin", "--credits", "1", data_dir=data_dir)
    assert twins.returncode == 1 and "2 keys are named 'twin'; give an id" in twins.stderr


def test_remote_errors_say_what_to_do_next(tmp_path: Path, base_url: str) -> None:
    source = tmp_path / "a.jpg"
    source.write_bytes(b"\xff\xd8\xff")
    down = _backdrop(
        "remove", str(source), "-o", str(tmp_path / "out"),
        "--server", "http://127.0.0.1:9", "--api-key", "bd_x", data_dir=tmp_path,
    )  # fmt: skip
    assert down.returncode == 1
    text = " ".join(down.stderr.split())
    assert "could not reach http://127.0.0.1:9" in text and "backdrop serve" in text
    bad_key = _backdrop(
        "remove", str(source), "-o", str(tmp_path / "out"),
        "--server", base_url, "--api-key", "bd_wrong", data_dir=tmp_path,
    )  # fmt: skip
    text = " ".join(bad_key.stderr.split())
    assert bad_key.returncode == 1 and "refused the API key" in text
    assert "backdrop keys create --credits 10" in text
