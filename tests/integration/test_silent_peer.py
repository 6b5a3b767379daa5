"""A peer that accepts the connection and then says nothing (a sleeping NAS, a dead Wi-Fi
behind a NAT that still answers TCP): every ssh travelsync starts gives up within the
configured bound, and the run ends with exit 75 naming the host."""

import socket
import threading
import time

import yaml

from tests.conftest import need_programs


def _silent_listener():
    """A loopback TCP port that accepts and never writes a byte (not even ssh's banner)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []

    def accept():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)  # kept open, never answered

    threading.Thread(target=accept, daemon=True).start()
    return server, held


def test_backup_to_a_silent_repository_ends_75_within_the_bound(tmp_path, cli_process):
    need_programs("rsync", "ssh")
    server, held = _silent_listener()
    port = server.getsockname()[1]
    source = tmp_path / "home"
    source.mkdir()
    (source / "a.txt").write_text("a")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "repository": "127.0.0.1:/srv/travelsync",
        "ssh": {"port": port, "connect_timeout": 2, "alive_interval": 1, "alive_count": 2,
                "options": ["-o", f"UserKnownHostsFile={tmp_path}/known_hosts"]},
        "sources": [{"name": "home", "path": str(source)}],
        "rsync": {"retries": 0},
    }))
    started = time.monotonic()
    try:
        result = cli_process("--config", config, "backup", "--full", timeout=60,
                             env={"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_RUNTIME_DIR": str(tmp_path)})
    finally:
        server.close()
        for connection in held:
            connection.close()
    elapsed = time.monotonic() - started
    assert result.exit_code == 75, result.stderr
    assert "127.0.0.1" in result.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s for a 2 s connect timeout"
