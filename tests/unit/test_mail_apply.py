"""`travelsync mailer` on real files: refusals change nothing, edits keep mode/owner/links,
originals live in the state folder, revert is byte-exact or undoes only our settings, and
the service API answers the trip workflow.  (Remote files: tests/integration/test_mail_e2e.py.)"""

import json
import os
import pickle
import types
import stat
import tempfile
from pathlib import Path

import pytest
import yaml

from travelsync.mail import service
from travelsync.mail.model import DELETE, KEEP, MIXED, NONE, UNKNOWN

FETCHMAILRC = """\
# "keep" in a comment
set no syslog
poll pop.example.org proto pop3
    user "marc" there with password "s3cret#keep" is marc here
    options no keep fetchall
poll imap.example.org proto imap user "m" password "p" is marc here
"""
GETMAILRC = "[retriever]\ntype = SimplePOP3Retriever\nserver = pop.example.org\nusername = marc\n" \
            "password = pw\n\n[destination]\ntype = MDA_external\npath = /bin/true\n\n[options]\ndelete = true\n"
MPOPRC = "defaults\ntls off\ndelivery mda /bin/true\n\naccount home\nhost pop.example.org\nuser marc\nkeep off\n"


def write_settings(folder: Path, entries: list[dict], ssh: dict | None = None) -> Path:
    document = {"repository": str(folder / "repository"), "sources": [{"name": "home", "path": str(folder)}],
                "mailer": entries}
    if ssh:
        document["ssh"] = ssh
    path = folder / "travelsync.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def home(tmp_path):
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def client_file(folder: Path, name: str, text: str | bytes, mode: int = 0o600) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    path.chmod(mode)
    return path


def fingerprint(path: Path):
    info = path.lstat()
    return path.read_bytes() if path.is_file() else None, info.st_mtime_ns, stat.S_IMODE(info.st_mode)


def assert_refused(result, *fragments):
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("travelsync: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- refusals: one line, exit 1, nothing touched ---------------------------------------------


@pytest.mark.parametrize("kind, content, where", [
    ("fetchmail", "this is not a fetchmailrc\n", ":1:"),
    ("fetchmail", b"set daemon 60\n\x00\xff\xfe binary", ":2:"),
    ("fetchmail", "", "empty"),
    ("getmail", "garbage\n", ":1:"),
    ("getmail", GETMAILRC + "delete = false\n", ":13:"),
    ("mpop", "host x\n", ":1:"),
    ("mpop", b"\x7fELF\x02\x01\x01\x00\x00", "binary"),
])
def test_bad_content_is_refused_and_left_alone(cli, home, kind, content, where):
    path = client_file(home, "rc", content)
    before = fingerprint(path)
    settings = write_settings(home, [{"kind": kind, "file": str(path)}])
    for action in ("keep", "revert"):
        assert_refused(cli("--config", settings, "mailer", action), str(path), where)
    assert fingerprint(path) == before
    assert sorted(p.name for p in home.iterdir()) == ["rc", "travelsync.yaml"]


def test_missing_file_and_directory_are_refused(cli, home):
    (home / "adir").mkdir()
    for name, said in (("nothere", "no such file"), ("adir", "is a directory")):
        settings = write_settings(home, [{"kind": "fetchmail", "file": str(home / name)}])
        assert_refused(cli("--config", settings, "mailer", "keep"), str(home / name), said)
    assert not (home / "nothere").exists()


def test_read_only_folder_is_refused(cli, home):
    folder = home / "ro"
    folder.mkdir()
    path = client_file(folder, "fetchmailrc", FETCHMAILRC)
    before = fingerprint(path)
    folder.chmod(0o555)
    try:
        settings = write_settings(home, [{"kind": "fetchmail", "file": str(path)}])
        assert_refused(cli("--config", settings, "mailer", "keep"), str(path), "read-only")
        assert_refused(cli("--config", settings, "mailer", "keep", "--dry-run"), "read-only")  # says it would fail
    finally:
        folder.chmod(0o755)
    assert fingerprint(path) == before


def _as_nobody(function):
    """Run `function` in a child that dropped root (os.fork keeps the loaded modules)."""
    # Import now what the child needs: after setuid it cannot read the root-only interpreter's files.
    import importlib

    for name in ("click.testing", "difflib", "base64", "travelsync.cli.mailer_cmds", "travelsync.mail.service",
                 "travelsync.mail.clients.fetchmail"):
        importlib.import_module(name)

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: whatever happens, it never returns into pytest
        try:
            os.close(reader)
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                value = function()
                if hasattr(value, "exit_code"):  # a CliResult: send plain values (conftest is not importable by name)
                    value = {"exit_code": value.exit_code, "stdout": value.stdout, "stderr": value.stderr}
                outcome = ("ok", value)
            except BaseException as error:  # reported to the parent, never raised here
                outcome = ("error", repr(error))
            try:
                payload = pickle.dumps(outcome)
            except BaseException as error:
                payload = pickle.dumps(("error", f"result not picklable: {error!r}"))
            with os.fdopen(writer, "wb") as out:
                out.write(payload)
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as source:
        data = source.read()
    _, wait_status = os.waitpid(pid, 0)
    assert data, f"the unprivileged child died without a result (wait status {wait_status})"
    status, value = pickle.loads(data)
    assert status == "ok", value
    return types.SimpleNamespace(**value) if isinstance(value, dict) and "exit_code" in value else value


def test_unreadable_file_is_refused(cli):
    folder = Path(tempfile.mkdtemp(prefix="travelsync-unreadable-"))
    try:
        folder.chmod(0o777)
        path = client_file(folder, "fetchmailrc", FETCHMAILRC, mode=0o000)
        before = fingerprint(path)
        settings = write_settings(folder, [{"kind": "fetchmail", "file": str(path)}])
        settings.chmod(0o644)
        env = {"XDG_STATE_HOME": str(folder / "state")}
        if os.geteuid() == 0:
            result = _as_nobody(lambda: cli("--config", settings, "mailer", "keep", env=env))
        else:
            result = cli("--config", settings, "mailer", "keep", env=env)
        assert_refused(result, str(path), "permission denied")
        assert fingerprint(path) == before
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def test_a_refusal_anywhere_changes_nothing_anywhere(cli, home):
    good = client_file(home, "fetchmailrc", FETCHMAILRC)
    bad = client_file(home, "mpoprc", "garbage here\n")
    before = fingerprint(good)
    settings = write_settings(home, [{"kind": "fetchmail", "file": str(good)}, {"kind": "mpop", "file": str(bad)}])
    assert_refused(cli("--config", settings, "mailer", "keep"), str(bad), ":1:")
    assert fingerprint(good) == before


def test_the_clients_own_parser_vetoes_and_its_output_is_never_shown(cli, home):
    from tests.conftest import need_programs

    need_programs("fetchmail")
    # travelsync's reader accepts the unknown option; fetchmail itself does not
    text = 'poll pop.example.org proto pop3 user "marc" password "TopSecret" is marc here frobnicate\n'
    path = client_file(home, "fetchmailrc", text)
    before = fingerprint(path)
    settings = write_settings(home, [{"kind": "fetchmail", "file": str(path)}])
    line = assert_refused(cli("--config", settings, "mailer", "keep"), str(path), "fetchmail rejects", "line 1")
    assert "TopSecret" not in line and "frobnicate" not in line
    assert fingerprint(path) == before
    assert sorted(p.name for p in home.iterdir()) == ["fetchmailrc", "travelsync.yaml"]  # temp file gone


def test_unknown_account_name_is_refused(cli, home):
    path = client_file(home, "mpoprc", MPOPRC)
    settings = write_settings(home, [{"kind": "mpop", "file": str(path), "accounts": ["nosuch"]}])
    assert_refused(cli("--config", settings, "mailer", "keep"), "no account 'nosuch'", "home")


# -- edits: mode, owner, links, state --------------------------------------------------------


def test_keep_and_revert_keep_mode_owner_and_symlink(cli, home, isolated_dirs):
    target_folder = home / "dotfiles"
    target_folder.mkdir()
    target = client_file(target_folder, "getmailrc", GETMAILRC, mode=0o640)
    if os.geteuid() == 0:
        os.chown(target, 65534, 65534)
    link = home / "getmailrc"
    link.symlink_to(target)
    owner = (target.stat().st_uid, target.stat().st_gid)
    settings = write_settings(home, [{"kind": "getmail", "file": str(link)}])

    kept = cli("--config", settings, "--json", "mailer", "keep")
    assert kept.exit_code == 0, kept.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "delete = false" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and (target.stat().st_uid, target.stat().st_gid) == owner
    assert sorted(p.name for p in target_folder.iterdir()) == ["getmailrc"]  # nothing beside the client's file

    state = json.loads((isolated_dirs / "state" / "travelsync" / "mailer.json").read_text())
    [(key, saved)] = state["files"].items()
    assert key == str(target)
    assert saved["changes"] == [{"account": "marc@pop.example.org", "setting": "delete", "before": "true",
                                 "after": "false"}]

    reverted = cli("--config", settings, "mailer", "revert")
    assert reverted.exit_code == 0, reverted.stderr
    assert target.read_text() == GETMAILRC and link.is_symlink()
    assert (target.stat().st_uid, target.stat().st_gid) == owner
    assert json.loads((isolated_dirs / "state" / "travelsync" / "mailer.json").read_text())["files"] == {}


def test_dry_run_prints_a_diff_with_passwords_masked_and_changes_nothing(cli, home, isolated_dirs):
    path = client_file(home, "fetchmailrc", FETCHMAILRC)
    before = fingerprint(path)
    settings = write_settings(home, [{"kind": "fetchmail", "file": str(path)}])
    result = cli("--config", settings, "mailer", "keep", "--dry-run")
    assert result.exit_code == 0
    assert "-    options no keep fetchall\n+    options keep fetchall\n" in result.stdout
    assert "s3cret" not in result.stdout
    assert fingerprint(path) == before
    assert not (isolated_dirs / "state" / "travelsync" / "mailer.json").exists()


def _folder_state(folder: Path):
    return sorted(p.name for p in folder.iterdir()), folder.stat().st_mtime_ns


@pytest.mark.parametrize("kind, name, text, vetoed", [  # vetoed: travelsync reads it, the client's checker does not
    ("fetchmail", "fetchmailrc", FETCHMAILRC, FETCHMAILRC.replace("fetchall", "fetchall frobnicate")),
    ("getmail", "getmailrc", GETMAILRC, GETMAILRC.replace("password = pw\n", "password = pw\nport = frobnicate\n")),
    ("mpop", "mpoprc", MPOPRC, MPOPRC.replace("tls off\n", "tls off\nfrobnicate on\n")),
], ids=["fetchmail", "getmail", "mpop"])
def test_dry_run_writes_nothing_beside_the_config_even_to_check_it(cli, home, kind, name, text, vetoed):
    from tests.conftest import need_programs

    need_programs(kind)  # the checker must run for this to prove anything
    folder = home / "mail"
    folder.mkdir()
    path = client_file(folder, name, text)
    settings = write_settings(home, [{"kind": kind, "file": str(path)}])
    before, file_before = _folder_state(folder), fingerprint(path)
    result = cli("--config", settings, "mailer", "keep", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "not checked" not in result.stderr
    assert _folder_state(folder) == before and fingerprint(path) == file_before
    client_file(folder, name, vetoed)
    before, file_before = _folder_state(folder), fingerprint(path)
    assert_refused(cli("--config", settings, "mailer", "keep", "--dry-run"), f"{kind} rejects")
    assert _folder_state(folder) == before and fingerprint(path) == file_before


def test_revert_after_the_file_was_edited_undoes_only_our_setting_and_says_so(cli, home):
    path = client_file(home, "mpoprc", MPOPRC)
    settings = write_settings(home, [{"kind": "mpop", "file": str(path)}])
    assert cli("--config", settings, "mailer", "keep").exit_code == 0
    path.write_text(path.read_text().replace("user marc", "user marc.k"))
    result = cli("--config", settings, "--json", "mailer", "revert")
    assert result.exit_code == 0, result.stderr
    assert path.read_text() == MPOPRC.replace("user marc", "user marc.k")
    assert any("edited since keep" in note for note in result.json["files"][0]["notes"])


def test_second_keep_after_an_edit_still_reverts_to_the_first_original(cli, home):
    text = "defaults\ndelivery mda /bin/true\naccount a\nhost h\nkeep off\n\naccount b\nhost i\nkeep off\n"
    path = client_file(home, "mpoprc", text)
    first = write_settings(home, [{"kind": "mpop", "file": str(path), "accounts": ["a"]}])
    assert cli("--config", first, "mailer", "keep").exit_code == 0
    path.write_text(path.read_text().replace("host i", "host j"))
    both = write_settings(home, [{"kind": "mpop", "file": str(path)}])
    assert cli("--config", both, "mailer", "keep").exit_code == 0
    assert path.read_text().count("keep on") == 2
    assert cli("--config", both, "mailer", "revert").exit_code == 0
    assert path.read_text() == text.replace("host i", "host j")


def test_status_reports_modes_warnings_and_exit_codes(cli, home):
    rc = client_file(home, "fetchmailrc", FETCHMAILRC.replace("fetchall", "fetchall flush"))
    settings = write_settings(home, [{"kind": "fetchmail", "file": str(rc)}])
    result = cli("--config", settings, "--json", "mailer", "status")
    assert result.exit_code == 3  # flush still deletes: a warning
    [report] = result.json["files"]
    assert report["mode"] == DELETE and not report["held"]
    assert [a["protocol"] for a in report["accounts"]] == ["pop3", "imap"]
    assert "flush" in report["warnings"][0]
    kept = cli("--config", settings, "mailer", "keep")
    assert kept.exit_code == 3 and "warning: " in kept.stderr and "flush" in kept.stderr
    again = cli("--config", settings, "--json", "mailer", "status").json["files"][0]
    assert again["mode"] == KEEP and again["held"]


def test_revert_without_a_keep_changes_nothing(cli, home):
    path = client_file(home, "fetchmailrc", FETCHMAILRC)
    before = fingerprint(path)
    settings = write_settings(home, [{"kind": "fetchmail", "file": str(path)}])
    result = cli("--config", settings, "mailer", "revert")
    assert result.exit_code == 0 and "no original" in result.stderr
    assert fingerprint(path) == before


def test_missing_checker_is_noted_not_fatal(cli, home, tmp_path):
    path = client_file(home, "fetchmailrc", FETCHMAILRC)
    settings = write_settings(home, [{"kind": "fetchmail", "file": str(path)}])
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    result = cli("--config", settings, "mailer", "keep", env={"PATH": str(empty_bin)})
    assert result.exit_code == 0, result.stderr
    assert "not checked: fetchmail is not installed here" in result.stderr


def test_usual_places_are_used_without_a_file(cli, home):
    client_file(home, ".mpoprc", MPOPRC)
    settings = write_settings(home, [{"kind": "mpop"}])
    result = cli("--config", settings, "--json", "mailer", "status", env={"HOME": str(home)})
    assert result.json["files"][0]["file"] == str(home / ".mpoprc")
    result = cli("--config", settings, "mailer", "status", env={"HOME": str(home / "nowhere")})
    assert result.exit_code == 1 and "no configuration file found" in result.stdout


def test_detect_lists_clients_and_their_files(cli, home):
    client_file(home, ".fetchmailrc", FETCHMAILRC)
    client_file(home, ".mpoprc", "garbage\n")
    result = cli("--json", "mailer", "detect", env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    assert result.exit_code == 0
    found = {c["kind"]: c for c in result.json["clients"]}
    assert found["fetchmail"]["files"] == [{"file": str(home / ".fetchmailrc"), "mode": DELETE, "accounts": 2,
                                            "error": None}]
    assert found["mpop"]["files"][0]["error"].startswith("line 1:")


# -- the service API the trip workflow uses --------------------------------------------------


def test_mode_of_text():
    assert service.mode_of_text("fetchmail", FETCHMAILRC) == DELETE
    assert service.mode_of_text("fetchmail", FETCHMAILRC.replace("no keep", "keep")) == KEEP
    assert service.mode_of_text("mpop", "account a\nkeep on\naccount b\nkeep off\n") == MIXED
    assert service.mode_of_text("getmail", GETMAILRC.replace("POP3", "IMAP")) == NONE  # nothing deletes


def test_revert_order_warning_names_only_clients_that_delete_what_they_kept(home):
    from travelsync.config.load import load_config

    settings = write_settings(home, [{"kind": "fetchmail", "file": "/x/fetchmailrc"},
                                     {"kind": "getmail", "file": "/x/getmailrc"}])
    warnings = service.revert_order_warning(load_config(settings))
    assert len(warnings) == 1 and warnings[0].startswith("getmail (/x/getmailrc)")


def test_keep_refuses_when_a_client_module_leaves_an_account_deleting(cli, home, monkeypatch):
    from travelsync.mail.clients import mpop
    from travelsync.mail.model import Plan

    monkeypatch.setattr(mpop, "plan_keep", lambda text, only=frozenset(): Plan(text))  # a broken adapter
    path = client_file(home, "mpoprc", MPOPRC)
    before = fingerprint(path)
    settings = write_settings(home, [{"kind": "mpop", "file": str(path)}])
    assert_refused(cli("--config", settings, "mailer", "keep"), "could not switch home")
    assert fingerprint(path) == before


def test_remote_files_of_clients_checked_only_locally_are_refused_before_any_ssh(cli, home):
    settings = write_settings(home, [{"kind": "thunderbird", "file": "marc@laptop.invalid:/home/marc/prefs.js"}])
    assert_refused(cli("--config", settings, "mailer", "keep"), "marc@laptop.invalid:/home/marc/prefs.js",
                   "cannot tell over ssh whether thunderbird is running")


def test_one_file_in_two_entries_is_refused(cli, home):
    path = client_file(home, "mpoprc", MPOPRC)
    link = home / "link"
    link.symlink_to(path)
    before = fingerprint(path)
    settings = write_settings(home, [{"kind": "mpop", "file": str(path)}, {"kind": "mpop", "file": str(link)}])
    assert_refused(cli("--config", settings, "mailer", "keep"), "two mailer entries")
    assert fingerprint(path) == before


def test_a_pop_account_of_unknown_mode_is_switched_and_a_file_without_pop_is_left_alone(cli, home):
    # mutt's default pop_delete=ask-no: a POP account whose mode is unknown (the answer decides)
    asking = client_file(home, "muttrc", "set pop_host=pops://pop.example.org\nset pop_delete=ask-no\n")
    settings = write_settings(home, [{"kind": "mutt", "file": str(asking)}])
    status = cli("--config", settings, "--json", "mailer", "status")
    [report] = status.json["files"]
    assert report["mode"] == UNKNOWN and report["accounts"][0]["protocol"] == "pop3"
    assert "no POP account" not in status.stderr
    kept = cli("--config", settings, "--json", "mailer", "keep")
    assert kept.exit_code == 3, kept.stderr  # pop_last: a warning, but switched
    assert kept.json["files"][0]["mode_before"] == UNKNOWN and kept.json["files"][0]["mode"] == KEEP
    assert "set pop_delete=no\n" in asking.read_text()

    imap_only = client_file(home, "muttrc2", "set folder=imaps://imap.example.org\n")
    before = fingerprint(imap_only)
    settings = write_settings(home, [{"kind": "mutt", "file": str(imap_only)}])
    left = cli("--config", settings, "mailer", "keep")  # nothing in it deletes mail on the server
    assert left.exit_code == 0 and "no POP account" in left.stderr, left.stderr
    assert fingerprint(imap_only) == before


def _getmailrc(server: str, retriever: str = "SimplePOP3Retriever") -> str:
    return GETMAILRC.replace("SimplePOP3Retriever", retriever).replace("pop.example.org", server)


def _one_file_per_account_home(home: Path) -> dict[str, Path]:
    config = home / ".config"
    sources, getmail = config / "evolution" / "sources", config / "getmail"
    sources.mkdir(parents=True)
    getmail.mkdir()
    return {
        "kmail0": client_file(config, "akonadi_pop3_resource_0rc",
                              "[General]\nhost=pop.example.org\nleaveOnServer=false\nlogin=marc\n"),
        "kmail1": client_file(config, "akonadi_pop3_resource_1rc", "[General]\nhost=pop.work.example\nlogin=m\n"),
        "evolution-a": client_file(sources, "a.source", "[Data Source]\nDisplayName=home\n\n"
                                   "[Pop Backend]\nKeepOnServer=false\n"),
        "evolution-b": client_file(sources, "b.source", "[Data Source]\nDisplayName=work\n\n"
                                   "[Pop Backend]\nKeepOnServer=0\nDeleteAfterDays=0\n"),
        "getmail-home": client_file(getmail, "getmailrc-home", _getmailrc("pop.example.org")),
        "getmail-work": client_file(getmail, "getmailrc-work", _getmailrc("pop.work.example")),
        "getmail-imap": client_file(getmail, "getmailrc-imap", _getmailrc("imap.example.org",
                                                                          "SimpleIMAPSSLRetriever")),
    }


def test_kinds_with_one_file_per_account_switch_and_revert_every_usual_file(cli, home):
    files = _one_file_per_account_home(home)
    before = {name: fingerprint(path) for name, path in files.items()}
    settings = write_settings(home, [{"kind": "kmail"}, {"kind": "evolution"}, {"kind": "getmail"}])
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}

    status = cli("--config", settings, "--json", "mailer", "status", env=env)
    assert sorted(r["file"] for r in status.json["files"]) == sorted(str(p) for p in files.values())

    kept = cli("--config", settings, "--json", "mailer", "keep", env=env)
    assert kept.exit_code == 0, kept.stderr
    reports = {Path(r["file"]): r for r in kept.json["files"]}
    assert set(reports) == set(files.values())
    for name, path in files.items():
        if name == "getmail-imap":  # only POP accounts change; the IMAP file is left alone
            assert not reports[path]["changed"] and fingerprint(path) == before[name]
            assert "left alone" in " ".join(reports[path]["notes"])
        else:
            assert reports[path]["changed"] and reports[path]["mode"] == KEEP, name
    assert "leaveOnServer=true" in files["kmail1"].read_text()
    assert "KeepOnServer=true" in files["evolution-b"].read_text()
    assert "delete = false" in files["getmail-work"].read_text()

    reverted = cli("--config", settings, "mailer", "revert", env=env)
    assert reverted.exit_code == 0, reverted.stderr
    assert {name: path.read_bytes() for name, path in files.items()} == \
        {name: data for name, (data, _mtime, _mode) in before.items()}


def test_accounts_of_a_one_file_per_account_kind_select_among_its_files(cli, home):
    files = _one_file_per_account_home(home)
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    untouched = {name: fingerprint(path) for name, path in files.items() if name != "getmail-work"}
    settings = write_settings(home, [{"kind": "getmail", "accounts": ["marc@pop.work.example"]}])
    kept = cli("--config", settings, "mailer", "keep", env=env)
    assert kept.exit_code == 0, kept.stderr
    assert "delete = false" in files["getmail-work"].read_text()
    assert {name: fingerprint(files[name]) for name in untouched} == untouched

    nobody = write_settings(home, [{"kind": "getmail", "accounts": ["nosuch@example.org"]}])
    assert_refused(cli("--config", nobody, "mailer", "keep", env=env), "no account 'nosuch@example.org'",
                   str(files["getmail-home"]), str(files["getmail-imap"]))
    imap = write_settings(home, [{"kind": "getmail", "accounts": ["marc@imap.example.org"]}])
    before = {name: fingerprint(path) for name, path in files.items()}
    left = cli("--config", imap, "mailer", "keep", env=env)  # an IMAP account: nothing to switch
    assert left.exit_code == 0 and "no POP account" in left.stderr, left.stderr
    assert {name: fingerprint(path) for name, path in files.items()} == before


def test_a_kind_with_one_file_for_all_accounts_uses_only_the_first_usual_file(cli, home):
    client_file(home, ".mpoprc", MPOPRC)
    (home / ".config" / "mpop").mkdir(parents=True)
    second = client_file(home / ".config" / "mpop", "config", MPOPRC)
    before = fingerprint(second)
    settings = write_settings(home, [{"kind": "mpop"}])
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    kept = cli("--config", settings, "--json", "mailer", "keep", env=env)
    assert [r["file"] for r in kept.json["files"]] == [str(home / ".mpoprc")]
    assert fingerprint(second) == before


def test_a_second_keep_or_revert_while_one_runs_exits_75_naming_the_holder(cli, home, isolated_dirs):
    from travelsync.mail import lock

    path = client_file(home, "mpoprc", MPOPRC)
    before = fingerprint(path)
    settings = write_settings(home, [{"kind": "mpop", "file": str(path)}])
    import subprocess
    import sys

    state = isolated_dirs / "state" / "travelsync"
    holder = subprocess.Popen(  # another travelsync run, holding the lock until its stdin closes
        [sys.executable, "-c", "import sys; from travelsync.mail import lock\n"
         f"with lock.hold({str(state)!r}, 'mailer keep'):\n print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(lock.__file__).parents[2])
    try:
        assert holder.stdout.readline() == "held\n"
        for action in ("keep", "revert"):
            result = cli("--config", settings, "mailer", action)
            assert result.exit_code == 75, result.stderr
            first = result.stderr.splitlines()[0]
            assert "mailer.lock" in first and f"pid {holder.pid}" in first and "mailer keep" in first
        assert fingerprint(path) == before and not (state / "mailer.json").exists()
        assert cli("--config", settings, "mailer", "keep", "--dry-run").exit_code == 0  # writes nothing: no lock
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert cli("--config", settings, "mailer", "keep").exit_code == 0  # released
    assert "keep on" in path.read_text()
    assert (state / "mailer.lock").read_text() == ""  # no stale holder left behind
