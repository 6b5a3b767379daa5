"""Configuration validation: every problem reported, each with file, line and key."""

import textwrap

import pytest

from travelsync.config import parse_config
from travelsync.errors import ConfigError
from travelsync.exitcodes import ExitStatus

VALID = textwrap.dedent("""\
    repository: /srv/backup
    sources:
      - name: home
        path: /home/marc
    laptop:
      paths: [home/Mail]
""")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text), "cfg.yaml")
    assert caught.value.exit_status == ExitStatus.USAGE
    return caught.value.problems or [caught.value.message]


def test_minimal_config_fills_defaults():
    config = parse_config(VALID, "cfg.yaml")
    assert str(config.repository) == "/srv/backup"
    assert config.sources[0].path.as_posix() == "/home/marc"
    assert config.retention.full == 4
    assert config.schedule.full.days == ("sun",)
    assert config.schedule.incremental.days == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    assert config.laptop.host is None and config.laptop.root == "/"
    source, inside = config.split_laptop_path("home/Mail")
    assert source.name == "home" and str(inside) == "Mail"


def test_yaml_syntax_error_names_file_and_line():
    found = problems("repository: /srv\nsources: [\n  - name: x\n")
    assert len(found) == 1 and found[0].startswith("cfg.yaml:") and "YAML syntax error" in found[0]


def test_unknown_key_suggests_the_right_one():
    [found] = problems(VALID + "retension:\n  full: 3\n")
    assert found.startswith("cfg.yaml:7:1: retension:") and "did you mean 'retention'" in found


def test_string_where_number_belongs():
    [found] = problems(VALID + "retention:\n  full: four\n")
    assert found.startswith("cfg.yaml:8:9: retention.full:")
    assert "expected an integer ≥ 1, found the string 'four'" in found


def test_missing_repository():
    [found] = problems("sources:\n  - name: home\n    path: /home/marc\n")
    assert found.startswith("cfg.yaml:1:1: repository: missing required key 'repository'")


def test_relative_source_path():
    [found] = problems("repository: /srv\nsources:\n  - name: home\n    path: home/marc\n")
    assert found.startswith("cfg.yaml:4:11: sources[0].path:") and "relative path 'home/marc'" in found


def test_two_problems_reported_at_once_in_file_order():
    found = problems("sources:\n  - name: home\n    path: rel\nretension: {full: 2}\n")
    assert len(found) == 3  # missing repository, relative path, unknown key
    assert [f.split(":")[1] for f in found] == ["1", "3", "4"]
    assert any("did you mean 'retention'" in f for f in found)
    assert any("missing required key 'repository'" in f for f in found)


def test_duplicate_source_names_and_unknown_laptop_source():
    found = problems("""\
        repository: /srv
        sources:
          - {name: home, path: /home/a}
          - {name: home, path: /home/b}
        laptop:
          paths: [hom/Mail, home/../etc]
    """)
    text = "\n".join(found)
    assert "duplicate source name 'home'" in text
    assert "'hom/Mail' names no source; did you mean 'home'?" in text
    assert "climbs out" in text


def test_tilde_and_variables_are_expanded(monkeypatch):
    monkeypatch.setenv("HOME", "/home/traveller")
    monkeypatch.setenv("BACKUPS", "/mnt/nas")
    config = parse_config("repository: $BACKUPS/ts\nsources:\n  - {name: home, path: ~/}\n")
    assert str(config.repository) == "/mnt/nas/ts"
    assert str(config.sources[0].path) == "/home/traveller"


def test_remote_repository_and_laptop_host():
    config = parse_config("repository: marc@nas:/srv/ts\nsources: [{name: h, path: /h}]\n"
                          "laptop: {host: me@laptop, root: /}\n")
    assert config.repository.is_remote and config.repository.host == "nas" and config.repository.user == "marc"
    assert config.laptop.host == "laptop" and config.laptop.user == "me"


def test_bad_schedule_timezone_and_choice():
    found = "\n".join(problems(VALID + "schedule:\n  full: sunday 2am\n  timezone: Mars/Olympus\n"
                                       "mailer:\n  - kind: fetchmial\n"))
    assert "schedule.full: expected a weekday name" in found
    assert "schedule.timezone: expected an IANA time zone name" in found
    assert "mailer[0].kind:" in found and "did you mean 'fetchmail'" in found


def test_duplicate_key_is_reported():
    [found] = problems(VALID + "retention: {full: 2}\nretention: {full: 3}\n")
    assert "retention: key given twice" in found


def test_empty_and_non_mapping_files():
    assert "the file is empty" in problems("")[0]
    assert "expected a mapping" in problems("- a\n- b\n")[0]


def test_example_config_is_valid():
    from travelsync.resources import example_config

    config = parse_config(example_config(), "example.yaml")
    assert config.mailer[0].kind == "fetchmail"
    assert "home/Mail" in config.laptop.paths


def test_ssh_silence_keys_default_to_a_minute_and_are_validated():
    config = parse_config(VALID, "cfg.yaml")
    assert (config.ssh.connect_timeout, config.ssh.alive_interval, config.ssh.alive_count) == (15, 15, 4)
    assert config.ssh.silence_limit == 60
    tuned = parse_config(VALID + "ssh: {connect_timeout: 5, alive_interval: 10, alive_count: 2}\n", "cfg.yaml")
    assert tuned.ssh.silence_limit == 20 and tuned.ssh.connect_timeout == 5
    found = problems(VALID + "ssh: {alive_interval: 0}\n")
    assert any("alive_interval" in p for p in found)


# -- ssh options that would turn host-key checking off (issue 15, finding 8) -----------------------

@pytest.mark.parametrize("options", [
    '["-o", "StrictHostKeyChecking=no"]',
    '["-o", "stricthostkeychecking=NO"]',
    '["-oStrictHostKeyChecking=off"]',
    '["-o", "StrictHostKeyChecking no"]',
    '["-o", "StrictHostKeyChecking = false"]',
    '["-o", "StrictHostKeyChecking=\\"no\\""]',
    '["-4o", "StrictHostKeyChecking=no"]',
    '["-o", "UserKnownHostsFile=/dev/null"]',
    '["-o", "userknownhostsfile none"]',
    '["-o", "UserKnownHostsFile=/dev/null /dev/null"]',
])
def test_ssh_options_that_skip_host_keys_are_refused(options):
    [found] = problems(VALID + f"ssh:\n  options: {options}\n")
    assert found.startswith("cfg.yaml:8:") and "ssh.options[" in found
    assert "host keys" in found and "insecure_host_keys: true" in found


def test_rsync_rsh_that_skips_host_keys_is_refused():
    [found] = problems(VALID + "rsync:\n  extra_args: [\"--rsh=ssh -o StrictHostKeyChecking=no\"]\n")
    assert found.startswith("cfg.yaml:8:") and "rsync.extra_args[0]" in found


@pytest.mark.parametrize("options", [
    '["-o", "StrictHostKeyChecking=accept-new"]',
    '["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=~/.ssh/known_hosts /dev/null"]',
    '["-p", "-oStrictHostKeyChecking=no"]',  # the argument of -p, not an option (ssh would say: bad port)
    '["-o", "HashKnownHosts=no"]',
])
def test_ssh_options_that_keep_host_keys_checked_pass(options):
    parse_config(VALID + f"ssh:\n  options: {options}\n", "cfg.yaml")


def test_insecure_host_keys_must_be_said_explicitly(cli, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(VALID + 'ssh:\n  options: ["-o", "StrictHostKeyChecking=no"]\n')
    refused = cli("--config", path, "config", "check")
    assert refused.exit_code == 2 and f"{path}:8:" in refused.stderr
    path.write_text(VALID + 'ssh:\n  options: ["-o", "StrictHostKeyChecking=no"]\n  insecure_host_keys: true\n')
    allowed = cli("--config", path, "--json", "config", "check")
    assert allowed.exit_code == 0, allowed.stderr
    assert allowed.json["ssh"]["insecure_host_keys"] is True


def test_paths_resolve_in_the_environment_given():
    """A schedule loads the config as the owner's cron job will: their HOME, no other variables."""
    text = "repository: ~/repo\nsources:\n  - {name: home, path: ~/}\n  - {name: mail, path: $HOME/Mail}\n"
    config = parse_config(text, "cfg.yaml", {"HOME": "/home/marc"})
    assert str(config.repository) == "/home/marc/repo"
    assert [str(s.path) for s in config.sources] == ["/home/marc", "/home/marc/Mail"]
    with pytest.raises(ConfigError) as caught:
        parse_config(text.replace("$HOME", "$BACKUPS"), "cfg.yaml", {"HOME": "/home/marc"})
    assert "sources[1].path: expected an absolute path, found the relative path '$BACKUPS/Mail'" in caught.value.message


def test_a_variable_only_this_shell_sets_is_not_resolved_for_another_environment(tmp_path, monkeypatch):
    """Loaded as the schedule will load it (its own environment), `$ONLYMINE` in the repository
    path was expanded from this process's environment anyway (a second expansion in
    parse_location): `schedule install` showed a path cron would never have."""
    from travelsync.config import load_config
    from travelsync.errors import ConfigError

    config = tmp_path / "c.yaml"
    config.write_text("repository: $ONLYMINE/repo\nsources: [{name: h, path: /tmp}]\n")
    monkeypatch.setenv("ONLYMINE", "/srv/mine")
    with pytest.raises(ConfigError) as caught:
        load_config(config, {"HOME": str(tmp_path), "PATH": "/usr/bin"})
    assert "repository: expected an absolute path" in str(caught.value.problems or caught.value.message)
    mine = load_config(config)  # in this shell's own environment it means what it says
    assert mine.repository.path == "/srv/mine/repo"
