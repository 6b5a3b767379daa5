"""How a store command's end is read: the remote shell runs here (`sh -c`), standing for ssh."""

import pytest

from travelsync.errors import TemporaryError, TravelsyncError
from travelsync.location import parse_location
from travelsync.repository.remote_store import RemoteStore


@pytest.fixture
def store(tmp_path):
    store = RemoteStore(parse_location(f"marc@nas:{tmp_path}/repo"), ssh=None)
    store._argv = lambda script: ["sh", "-c", script]
    return store


def test_a_killed_ssh_is_a_temporary_failure_not_a_bare_exit_status(store):
    """The drill that cuts connections found `exit status -9` reported as a failure (exit 1):
    the far end's state is as unknown as after a cut link, so it is 75, run it again."""
    with pytest.raises(TemporaryError, match="ssh ended by signal 9"):
        store.run("kill -9 $$")


def test_a_failing_remote_command_stays_a_failure(store):
    with pytest.raises(TravelsyncError) as raised:
        store.run("echo 'no such folder' >&2; exit 3")
    assert not isinstance(raised.value, TemporaryError) and "no such folder" in raised.value.message
