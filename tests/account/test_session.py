"""The one session factory (rv_batch_cfn/account/session.py)."""

from __future__ import annotations

from rv_batch_cfn.account.session import make_session


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
