"""The sshd fixture itself: commands run, and a host key that is not known is refused."""

import subprocess


def test_sshd_runs_commands_with_quoted_arguments(sshd_server):
    done = sshd_server.run("printf", "%s|", "a b", "-x", "c:d")
    assert done.stdout == b"a b|-x|c:d|"


def test_unknown_host_key_is_refused(sshd_server, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    argv = ["ssh", "-o", "BatchMode=yes", "-p", str(sshd_server.port), "-i", str(sshd_server.identity),
            "-o", f"UserKnownHostsFile={empty}", "-o", "GlobalKnownHostsFile=/dev/null",
            f"{sshd_server.user}@{sshd_server.host}", "true"]
    done = subprocess.run(argv, capture_output=True, timeout=30)
    assert done.returncode == 255
    assert b"Host key verification failed" in done.stderr
