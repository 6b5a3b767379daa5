from datetime import datetime, timezone

import pytest

from travelsync import clock, paths
from travelsync.errors import UsageError


def test_now_honours_travelsync_now():
    value = clock.now({"TRAVELSYNC_NOW": "2026-11-22T02:30:00+01:00"})
    assert value == datetime(2026, 11, 22, 1, 30, tzinfo=timezone.utc)
    assert clock.utc_stamp(value) == "20261122T013000Z"


def test_now_without_override_is_aware_and_current():
    before = datetime.now(timezone.utc)
    value = clock.now({})
    assert value.tzinfo is not None and before <= value <= datetime.now(timezone.utc)


@pytest.mark.parametrize("bad", ["yesterday", "2026-11-22T02:30:00"])
def test_now_rejects_bad_values(bad):
    with pytest.raises(UsageError):
        clock.now({"TRAVELSYNC_NOW": bad})


def test_config_and_state_locations():
    env = {"HOME": "/home/u", "XDG_CONFIG_HOME": "/x/cfg", "XDG_STATE_HOME": "/x/state"}
    assert str(paths.config_path(None, env)) == "/x/cfg/travelsync/config.yaml"
    assert str(paths.config_path("/c.yaml", env)) == "/c.yaml"
    assert str(paths.config_path(None, {**env, "TRAVELSYNC_CONFIG": "/e.yaml"})) == "/e.yaml"
    assert str(paths.state_dir(env)) == "/x/state/travelsync"
    assert str(paths.state_dir({"HOME": "/home/u"})) == "/home/u/.local/state/travelsync"
