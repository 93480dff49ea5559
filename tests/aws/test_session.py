"""The one session factory (rv_batch_cfn/aws/clients/session.py)."""

from __future__ import annotations

import os

from rv_batch_cfn.aws.clients.session import make_session


def test_sessions_share_one_data_loader(monkeypatch):
    # Each service model is read once per process, not once per session: a second session's
    # client gets the same (already filled) loader.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    first, second = make_session(), make_session()
    assert first._session is not second._session
    loader = first._session.get_component("data_loader")
    assert second._session.get_component("data_loader") is loader
    first.client("batch")
    assert any("batch" in str(key) for key in loader._cache), "the model was cached"


def test_a_library_call_leaves_the_environment_as_it_was(emulator, monkeypatch):
    # The endpoint and an empty AWS_PROFILE ("no profile", as `make ... AWS_PROFILE=` exports
    # it) are the session's, not the process's: nothing in os.environ is set, changed or removed.
    from rv_batch_cfn.aws.clients.session import connect

    emulator.client("s3").create_bucket(Bucket="seen-through-the-session")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_PROFILE", "")
    before = dict(os.environ)
    session = connect(endpoint_url=emulator.endpoint)
    buckets = session.client("s3").list_buckets()["Buckets"]
    assert [b["Name"] for b in buckets] == ["seen-through-the-session"]
    assert dict(os.environ) == before


def test_the_endpoint_passed_wins_over_the_environments(emulator, monkeypatch):
    # As the AWS CLI's --endpoint-url does over AWS_ENDPOINT_URL.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    session = make_session(endpoint_url=emulator.endpoint)
    assert session.client("sts").meta.endpoint_url == emulator.endpoint
    assert make_session().client("sts").meta.endpoint_url == "http://127.0.0.1:9"
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
