"""Drill 1: SIGKILL at seeded random moments of backup, restore, prepare, finalize and
`mailer keep`/`revert` (real `python -m travelsync` processes; the whole process group, so
rsync dies too; for backup also rsync alone), each followed by a re-run and the checks that
nothing was lost or half-written."""

import os
from datetime import datetime, timedelta

import pytest

from tests.drills.conftest import (FETCHMAILRC, ROUNDS, check_mail_file, check_nothing_vanished, check_repository,
                                   change_home, end_trip, files_under, kill_at, laptop_matches, repository_facts,
                                   seed_laptop, slow_checker, snapshot_digests, start, trip_state)

pytestmark = pytest.mark.timeout(120 + 30 * ROUNDS)

DAY0 = datetime.fromisoformat("2026-11-24T02:30:00+00:00")


def at(day: int, hour: int = 2, minute: int = 30) -> str:
    return (DAY0 + timedelta(days=day)).replace(hour=hour, minute=minute).isoformat()


class Window:
    """Half the kill moments are drawn in [0.05 s, limit] after the start, half in [0, rsync_limit]
    after rsync first appears (so the transfer itself is hit often); a kill that lands after the
    run ended shrinks the limit to that run's length, so later rounds hit the run itself."""

    def __init__(self, drill, limit: float, rsync_limit: float | None = None, anchor="rsync"):
        self.drill, self.limit, self.rsync_limit, self.hits, self.misses = drill, limit, rsync_limit, 0, 0
        self.anchor = anchor

    def moment(self):
        if self.rsync_limit and self.drill.random.random() < 0.5:
            return self.drill.random.uniform(0.0, self.rsync_limit), self.anchor
        return self.drill.random.uniform(0.05, self.limit), None

    def landed(self, what: str, running, anchor) -> None:
        if what.startswith("finished before"):
            self.misses += 1
            if anchor is None:
                self.limit = max(0.1, 0.9 * running.finished_after)
        else:
            self.hits += 1

    def done(self) -> None:
        self.drill.check(self.hits >= 1, f"{self.hits} of {self.hits + self.misses} kills landed while the run was "
                                         "still going (the others ran to the end first)")


def kill_and_report(drill, window, running, victim="group") -> tuple[int, str]:
    moment, anchor = window.moment()
    what = kill_at(running, moment, victim, anchor=anchor)
    code = running.wait()
    window.landed(what, running, anchor)
    drill.say(f"  {what}; the killed run exited {code}; stderr: {running.stderr.strip().splitlines()[-1:]}")
    return code, what


# ---------------------------------------------------------------- backup
def transfer_rsync(_pid, name, cmdline) -> bool:
    """rsync sending the snapshot (not the `--dry-run` that checks for changes first)."""
    return name == "rsync" and b"\0--dry-run\0" not in cmdline


transfer_rsync.label = "rsync (the transfer)"


@pytest.mark.parametrize("victim", ["group", "rsync"])
def test_kill_backup(home_world, drill, cli, victim):
    world = home_world
    window = Window(drill, 2.0, rsync_limit=0.6)
    for index in range(ROUNDS):
        kind = drill.random.choice(["--full", "--incremental"])
        changes = change_home(world.home, drill.random, f"day{index}")
        before = repository_facts(world.repo)
        drill.tried(f"round {index + 1}: {changes}; `backup {kind}` (rsync --bwlimit=300), SIGKILL to "
                    f"{'the whole group' if victim == 'group' else 'rsync alone'}")
        running = start(world.base / f"run-{index}", "--config", world.slow, "backup", kind,
                        env={"TRAVELSYNC_NOW": at(index)})
        code, what = kill_and_report(drill, window, running, victim if victim == "group" else transfer_rsync)
        if victim == "rsync" and what.startswith("SIGKILL"):
            drill.check(code == 1 and "signal 9" in running.stderr,
                        "travelsync saw rsync killed: exit 1 naming signal 9", f"exit {code}: {running.stderr}")
        check_repository(drill, cli, world.fast, world.repo, before)
        rerun = cli("--config", world.fast, "--json", "backup", kind, env={"TRAVELSYNC_NOW": at(index, 3)})
        drill.check(rerun.exit_code == 0, f"the re-run of backup {kind} completed (exit {rerun.exit_code})",
                    rerun.stderr)
        report = rerun.json
        drill.say(f"  re-run: snapshot {report['snapshot']}, resumed={report['resumed']}, "
                  f"no_change={report['no_change']}, {report['bytes_transferred']} bytes sent")
        drill.check(files_under(world.data(report["snapshot"])) == files_under(world.home),
                    f"snapshot {report['snapshot']} holds exactly home's files")
        drill.check(world.latest_id() == report["snapshot"], "`latest` is the re-run's snapshot")
        drill.check(not [p for p in (world.repo / "partial").iterdir()], "no partial snapshot is left over")
        check_repository(drill, cli, world.fast, world.repo, before)
    window.done()


# ---------------------------------------------------------------- restore
def test_kill_restore(home_world, drill, cli):
    world = home_world
    window = Window(drill, 2.0, rsync_limit=1.5)
    snapshots = sorted(p.name for p in (world.repo / "snapshots").iterdir())
    for index in range(ROUNDS):
        seed_laptop(world, drill.random)
        before = files_under(world.laptop)
        chosen = drill.random.choice(snapshots)
        drill.tried(f"round {index + 1}: `restore --from {chosen}` onto a laptop with {len(before)} files "
                    "(one changed mail, one draft of its own), SIGKILL to the whole group")
        running = start(world.base / f"run-{index}", "--config", world.slow, "restore", "--from", chosen,
                        env={"TRAVELSYNC_NOW": at(index, 7)})
        kill_and_report(drill, window, running)
        rerun = cli("--config", world.fast, "--json", "restore", "--from", chosen, env={"TRAVELSYNC_NOW": at(index, 8)})
        # 0 or 3: the moment of the kill decides: 3 (a warning) when the re-run finds laptop files to move
        # aside (the changed mail or the draft the killed run had not moved yet, or the temp file the
        # killed rsync left, e.g. Mail/cur/.8.mail.KsQScu), 0 when the killed run had left none
        drill.check(rerun.exit_code in (0, 3), f"the re-run of restore completed (exit {rerun.exit_code})", rerun.stderr)
        drill.check(not laptop_matches(world.laptop_home, world.data(chosen)),
                    f"the laptop's Mail, src, big and .fetchmailrc equal snapshot {chosen}",
                    laptop_matches(world.laptop_home, world.data(chosen)))
        check_nothing_vanished(drill, world.laptop, before, held_by_repository=set())
        drill.check((world.laptop_home / "Other" / "laptop-only.txt").read_text() == "never touched\n",
                    "a laptop folder outside the restored paths is untouched")
    window.done()


# ---------------------------------------------------------------- prepare and finalize
def test_kill_prepare(home_world, drill, cli, keep_bytes, isolated_dirs):
    world, state_dir = home_world, isolated_dirs / "state"
    window = Window(drill, 2.0, rsync_limit=1.5)
    for index in range(ROUNDS):
        end_trip(drill, world, cli, state_dir, at(2 * index, 1))
        seed_laptop(world, drill.random)
        before = files_under(world.laptop)
        full = world.last_full_id()
        drill.tried(f"round {index + 1}: `prepare` (last full {full}) onto a laptop with {len(before)} files, "
                    "SIGKILL to the whole group")
        running = start(world.base / f"run-{index}", "--config", world.slow, "prepare", "--skip-preflight",
                        env={"TRAVELSYNC_NOW": at(2 * index, 18)})
        kill_and_report(drill, window, running)
        check_mail_file(drill, world.home / ".fetchmailrc", {"old": FETCHMAILRC, "keep": keep_bytes})
        rerun = cli("--config", world.fast, "--json", "prepare", "--skip-preflight",
                    env={"TRAVELSYNC_NOW": at(2 * index, 19)})
        # 0 or 3: the moment of the kill decides, as for restore above
        drill.check(rerun.exit_code in (0, 3), f"the re-run of prepare completed (exit {rerun.exit_code})",
                    rerun.stderr)
        state = trip_state(state_dir)
        drill.check(state["state"] == "prepared" and not state["in_progress"], "the trip state is `prepared`", state)
        drill.check(not laptop_matches(world.laptop_home, world.data(full)), f"the laptop equals the full {full}",
                    laptop_matches(world.laptop_home, world.data(full)))
        check_nothing_vanished(drill, world.laptop, before, snapshot_digests(world.repo, full))
        check_mail_file(drill, world.home / ".fetchmailrc", {"keep": keep_bytes})
    end_trip(drill, world, cli, state_dir, at(2 * ROUNDS, 1))
    window.done()


def test_kill_finalize(home_world, drill, cli, keep_bytes, isolated_dirs):
    world, state_dir = home_world, isolated_dirs / "state"
    window = Window(drill, 1.0, rsync_limit=0.5)
    for index in range(ROUNDS):
        end_trip(drill, world, cli, state_dir, at(2 * index, 1))
        seed_laptop(world, drill.random)
        prepared = cli("--config", world.fast, "prepare", "--skip-preflight", env={"TRAVELSYNC_NOW": at(2 * index, 18)})
        assert prepared.exit_code == 3, prepared.stderr  # a warning: the laptop's changed mail and draft moved aside
        (world.laptop_home / "Mail" / "cur" / f"written-before-leaving-{index}").write_text("laptop only\n")
        changes = change_home(world.home, drill.random, f"night{index}")
        night = cli("--config", world.fast, "--json", "backup", "--incremental",
                    env={"TRAVELSYNC_NOW": at(2 * index + 1)})
        assert night.exit_code == 0, night.stderr
        latest, full = night.json["snapshot"], world.last_full_id()
        before = files_under(world.laptop)
        drill.tried(f"round {index + 1}: prepared, then {changes}, nightly {latest}; `finalize`, SIGKILL to the "
                    "whole group")
        running = start(world.base / f"run-{index}", "--config", world.slow, "finalize", "--skip-preflight",
                        env={"TRAVELSYNC_NOW": at(2 * index + 1, 7)})
        kill_and_report(drill, window, running)
        rerun = cli("--config", world.fast, "--json", "finalize", "--skip-preflight",
                    env={"TRAVELSYNC_NOW": at(2 * index + 1, 8)})
        # 0 or 3: the moment of the kill decides, as for restore above
        drill.check(rerun.exit_code in (0, 3), f"the re-run of finalize completed (exit {rerun.exit_code})",
                    rerun.stderr)
        drill.check(rerun.json["snapshot"] == latest, f"it restored the nightly {latest}", rerun.json["snapshot"])
        state = trip_state(state_dir)
        drill.check(state["state"] == "finalized" and not state["in_progress"], "the trip state is `finalized`", state)
        check_nothing_vanished(drill, world.laptop, before, snapshot_digests(world.repo, full, latest))
        own = world.laptop_home / "Mail" / "cur" / f"written-before-leaving-{index}"
        drill.check(own.exists() and own.read_text() == "laptop only\n", "finalize's delta left the laptop's own file where it was "
                    "(home did not change it: docs/trip.md)", own.exists())
        own.unlink()
        drill.check(not laptop_matches(world.laptop_home, world.data(latest)), f"the laptop equals {latest}",
                    laptop_matches(world.laptop_home, world.data(latest)))
        check_repository(drill, cli, world.fast, world.repo, verify=False)
    end_trip(drill, world, cli, state_dir, at(2 * ROUNDS, 1))
    window.done()


# ---------------------------------------------------------------- mailer keep / revert
def checker_started(_pid, _name, cmdline) -> bool:
    return b"fetchmail" in cmdline and b"--configdump" in cmdline


checker_started.label = "the checker"


@pytest.mark.parametrize("action", ["keep", "revert"])
@pytest.mark.parametrize("checker", ["fetchmail", "slowed-fetchmail"])
def test_kill_mailer(home_world, drill, cli, keep_bytes, action, checker, tmp_path):
    world = home_world
    rc = world.home / ".fetchmailrc"
    env = {}
    if checker == "slowed-fetchmail":
        folder = slow_checker(tmp_path / "slow-bin", 0.4)
        env["PATH"] = f"{folder}:{os.environ['PATH']}"
    window = Window(drill, 0.45)
    if checker == "slowed-fetchmail":  # half the kills aimed at the checker and the write after it
        window = Window(drill, 1.0, rsync_limit=0.7, anchor=checker_started)
    for index in range(ROUNDS):
        if action == "revert":
            assert cli("--config", world.fast, "mailer", "keep").exit_code == 0
        end_bytes = keep_bytes if action == "keep" else FETCHMAILRC
        drill.tried(f"round {index + 1}: `mailer {action}` with {checker} as the checker, SIGKILL to the whole group")
        running = start(world.base / f"run-{index}", "--config", world.fast, "mailer", action, env=env)
        kill_and_report(drill, window, running)
        check_mail_file(drill, rc, {"old": FETCHMAILRC, "keep": keep_bytes})
        rerun = cli("--config", world.fast, "mailer", action)
        drill.check(rerun.exit_code == 0, f"the re-run of mailer {action} completed", rerun.stderr)
        check_mail_file(drill, rc, {"keep" if action == "keep" else "old": end_bytes})
        if action == "keep":
            back = cli("--config", world.fast, "mailer", "revert")
            drill.check(back.exit_code == 0 and rc.read_bytes() == FETCHMAILRC,
                        "a revert after the killed keep gives back the exact original bytes", back.stderr)
        status = cli("--config", world.fast, "--json", "mailer", "status")
        drill.check(status.json["files"][0]["held"] is False, "no original is held any more (no keep in force)")
    if checker == "slowed-fetchmail":
        calls = (tmp_path / "slow-bin" / "calls")
        drill.say(f"the slowed checker ran {len(calls.read_text().splitlines()) if calls.exists() else 0} times")
    window.done()
