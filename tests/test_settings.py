"""Every setting is documented in the README, and the environment overrides defaults with types kept."""

from pathlib import Path

from innograph.config import SETTINGS, load_settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme():
    assert len(SETTINGS) >= 15
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in README]
    assert not missing


def test_environment_then_overrides():
    settings = load_settings({"PORT": "9001"}, environ={"INNOGRAPH_QUERY_TIMEOUT": "2.5", "INNOGRAPH_ALLOW_SERVICE": "yes", "INNOGRAPH_PORT": "9000"})
    assert settings["QUERY_TIMEOUT"] == 2.5
    assert settings["ALLOW_SERVICE"] is True
    assert settings["PORT"] == 9001
    assert settings["PUBLIC_URL"] == "http://127.0.0.1:9001"


def test_a_negative_proxy_hops_is_refused_at_start():
    """werkzeug's ProxyFix with a negative count would trust an address the client wrote."""
    import pytest

    from innograph import create_app

    with pytest.raises(ValueError, match="PROXY_HOPS must be 0 or more"):
        create_app({"TESTING": True, "START_STORE": False, "PROXY_HOPS": -1})
