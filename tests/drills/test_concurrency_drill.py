"""Drill 7: `prepare` and the scheduled backup (`backup --if-due` or `--incremental`) start at
the same moment: one may wait or exit 75, neither corrupts the other, and the trip still
completes afterwards (finalize, return)."""

import time

import pytest

from tests.drills.conftest import (FETCHMAILRC, ROUNDS, change_home, check_mail_file, check_nothing_vanished,
                                   check_repository, day_at, end_trip, files_under, laptop_matches, repository_facts,
                                   seed_laptop, snapshot_digests, start, trip_state)

pytestmark = pytest.mark.timeout(120 + 30 * ROUNDS)


def wait_for_restore_end(running, limit=30.0) -> None:
    """Until prepare's rsync has started and ended again (its mail switch comes next)."""
    deadline, seen = time.monotonic() + limit, False
    while running.process.poll() is None and time.monotonic() < deadline:
        busy = any(name == "rsync" for _pid, name, _cmd in running.session_members())
        if seen and not busy:
            return
        seen = seen or busy
        time.sleep(0.005)


def test_prepare_and_scheduled_backup_at_once(home_world, drill, cli, keep_bytes, isolated_dirs):
    world, state_dir = home_world, isolated_dirs / "state"
    for index in range(ROUNDS):
        day = 2 + 2 * index
        end_trip(drill, world, cli, state_dir, day_at(day, 1, 0))
        seed_laptop(world, drill.random)
        changes = change_home(world.home, drill.random, f"day{index}")
        scheduled = drill.random.choice([("backup", "--if-due"), ("backup", "--incremental")])
        first = drill.random.choice(["prepare", "backup"])
        # backup first: prepare follows within 0.3 s; prepare first: the backup starts around
        # prepare's mail switch (its restore just ended, plus up to 0.5 s): it then copies home
        # while prepare rewrites .fetchmailrc
        offset = drill.random.uniform(0.0, 0.3) if first == "backup" else drill.random.uniform(0.0, 0.5)
        when = day_at(day, 2, 40)  # the nightly incremental is due; prepare runs now too
        before_repo, before_laptop = repository_facts(world.repo), files_under(world.laptop)
        full = world.last_full_id()
        drill.tried(f"round {index + 1}: {changes}; `prepare` and `{' '.join(scheduled)}` together "
                    + (f"(backup first, prepare {offset:.3f}s later)" if first == "backup" else
                       f"(prepare first, the backup {offset:.3f}s after prepare's restore ended)")
                    + ", both with rsync --bwlimit=300")
        runs = {}
        for name in ([first, "backup" if first == "prepare" else "prepare"]):
            args = ("prepare", "--skip-preflight") if name == "prepare" else scheduled
            if runs and first == "prepare":
                wait_for_restore_end(runs["prepare"])
            if runs:
                time.sleep(offset)
            runs[name] = start(world.base / f"run-{index}-{name}", "--config", world.slow, "--json", *args,
                               env={"TRAVELSYNC_NOW": when})
        codes = {name: running.wait(120) for name, running in runs.items()}
        drill.say(f"  exits: {codes}; backup said {runs['backup'].stderr.strip().splitlines()[-1:]}; "
                  f"prepare said {runs['prepare'].stderr.strip().splitlines()[-1:]}")
        for name, code in codes.items():
            drill.check(code in (0, 3, 75) and "Traceback" not in runs[name].stderr,
                        f"{name} finished cleanly or waited its turn (exit {code})", runs[name].stderr)
            if code == 75:
                drill.check("locked by" in runs[name].stderr, f"{name}'s exit 75 names the holder",
                            runs[name].stderr)
                args = ("prepare", "--skip-preflight") if name == "prepare" else scheduled
                again = cli("--config", world.fast, "--json", *args, env={"TRAVELSYNC_NOW": when})
                # reached only after a run waited (75), which no run here produced: its exact code is unmeasured
                drill.check(again.exit_code in (0, 3), f"{name} run again afterwards completes", again.stderr)
        facts = check_repository(drill, cli, world.fast, world.repo, before_repo)
        made = sorted(set(facts["snapshots"]) - set(before_repo["snapshots"]))
        drill.check(len(made) == 1, f"the scheduled backup made one snapshot {made}")
        data = world.data(made[0])
        expected = files_under(world.home)
        taken = files_under(data)
        taken.pop(".fetchmailrc", None)
        expected.pop(".fetchmailrc")
        drill.check(taken == expected, f"{made[0]} holds home's files")
        check_mail_file(drill, data / ".fetchmailrc", {"old": FETCHMAILRC, "keep": keep_bytes})
        state = trip_state(state_dir)
        drill.check(state["state"] == "prepared" and not state["in_progress"], "the trip is `prepared`", state)
        drill.check(not laptop_matches(world.laptop_home, world.data(full)), f"the laptop equals the full {full}",
                    laptop_matches(world.laptop_home, world.data(full)))
        check_nothing_vanished(drill, world.laptop, before_laptop, snapshot_digests(world.repo, full))
        check_mail_file(drill, world.home / ".fetchmailrc", {"keep": keep_bytes})
        finalize = cli("--config", world.fast, "--json", "finalize", "--skip-preflight", "--backup-first",
                       env={"TRAVELSYNC_NOW": day_at(day + 1, 7, 0)})
        # 0 or 3: the race decides: 3 (a warning: the laptop's .fetchmailrc still deletes) when the backup
        # copied home's .fetchmailrc before prepare switched it to keep, 0 when after
        drill.check(finalize.exit_code in (0, 3), "the trip still completes: finalize", finalize.stderr)
        latest = finalize.json["snapshot"]
        drill.check(not laptop_matches(world.laptop_home, world.data(latest)), f"the laptop equals {latest}")
    end_trip(drill, world, cli, state_dir, day_at(2 + 2 * ROUNDS, 1, 0))
