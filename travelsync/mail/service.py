"""What the CLI and the trip workflow call: status, keep, revert of the configured mail clients.

Keep and revert first read, parse, plan and check every configured file; only when all of
them are fine is anything replaced (a refusal anywhere changes nothing anywhere).  Results
are plain objects with `to_json()`.
"""

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Callable, Mapping

from travelsync import clock, process
from travelsync.location import Location, parse_location
from travelsync.mail import registry
from travelsync.mail.apply import (ConfigFile, MailRefused, Originals, Saved, change_to_json, encode, files_for,
                                   refuse_unwritable, refused_at, sha256, unified_diff)
from travelsync.mail.model import KEEP, MIXED, NONE, SYNC, UNKNOWN, Account, Change, MailConfigError, Plan


@dataclass
class FileReport:
    """One configured mail client file: its accounts, and what an action did (or would do) to it."""

    kind: str
    file: str
    action: str  # status | keep | revert
    mode: str = UNKNOWN  # of the POP accounts, after the action (for status and dry runs: as it is / would be)
    mode_before: str = UNKNOWN
    accounts: list[Account] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    changed: bool = False
    dry_run: bool = False
    held: bool = False  # travelsync holds this file's original (a keep is in force)
    diff: str = ""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict:
        return {"kind": self.kind, "file": self.file, "action": self.action, "mode": self.mode,
                "mode_before": self.mode_before, "changed": self.changed, "dry_run": self.dry_run,
                "held": self.held,
                "accounts": [{"name": a.name, "protocol": a.protocol, "mode": a.mode, "warnings": list(a.warnings)}
                             for a in self.accounts],
                "changes": [change_to_json(c) for c in self.changes], "diff": self.diff,
                "warnings": list(self.warnings), "notes": list(self.notes), "error": self.error}


def is_pop(account: Account) -> bool:
    """An account keep switches: POP (it deletes after download) or an IMAP sync (it expunges on the
    server what is deleted locally).  Plain IMAP accounts of a POP client are left alone."""
    return (account.protocol.startswith("pop") or account.protocol in ("apop", "rpop", "kpop", "sdps", "auto")
            or account.protocol == SYNC)


def mode_of_accounts(accounts: list[Account]) -> str:
    """KEEP or DELETE when every POP account agrees, MIXED when not, NONE when there is no POP
    account (nothing in the file deletes mail on the server), UNKNOWN when the only mode there is
    UNKNOWN (mutt's ask-yes/ask-no: the answer decides)."""
    modes = {a.mode for a in accounts if is_pop(a)}
    if not modes:
        return NONE
    return modes.pop() if len(modes) == 1 else MIXED


def mode_of_text(kind: str, text: str) -> str:
    """KEEP, DELETE, MIXED, NONE or UNKNOWN (see mode_of_accounts) for a config file's text.

    Raise MailConfigError when it does not parse.  finalize uses it on the laptop's copy.
    """
    return mode_of_accounts(registry.client(kind).accounts(text))


NO_POP_NOTE = ("no POP account (of those selected) in this file: nothing in it deletes mail on the server; "
               "left alone")


# -- finding and opening the configured files -----------------------------------------------


@dataclass
class Opened:
    entry: object  # config.model.MailerEntry
    module: ModuleType
    files: object  # LocalFiles | RemoteFiles
    config_file: ConfigFile
    accounts: list[Account]


def locate(entry, environ: Mapping[str, str], home: Path) -> list[Location]:
    """The entry's `file`; else the first of the client's usual places that exists, or every
    one that exists for a kind that keeps one file per account (ONE_FILE_PER_ACCOUNT)."""
    if entry.file:
        return [parse_location(str(entry.file))]
    module = registry.client(entry.kind)
    candidates = module.default_paths(home, environ)
    found = [Location(str(candidate)) for candidate in candidates if candidate.is_file()]
    if not found:
        looked = ", ".join(str(c) for c in candidates[:4]) or "nowhere"
        raise MailRefused(f"{entry.kind}: no configuration file found (looked at {looked}); "
                          "set `file:` in the mailer entry")
    return found if getattr(module, "ONE_FILE_PER_ACCOUNT", False) else found[:1]


# Clients whose refuse_reason looks at this machine's processes, locks or sibling files: travelsync
# cannot ask those questions over ssh, so it does not change their files on another machine.
CHECKED_ONLY_HERE = frozenset({"thunderbird", "claws", "evolution", "kmail"})


def open_entry(entry, location: Location, config, run, *, for_change: bool = False) -> Opened:
    """Read and parse one of the entry's files; raise MailRefused (or MailConfigError)."""
    module = registry.client(entry.kind)
    if for_change and location.is_remote and entry.kind in CHECKED_ONLY_HERE:
        raise MailRefused(f"{location}: travelsync cannot tell over ssh whether {entry.kind} is running there "
                          "(it would write its settings back); run travelsync on that machine; nothing changed")
    files = files_for(location, config.ssh, run)
    config_file = files.read(location)
    if not location.is_remote:
        reason = module.refuse_reason(Path(config_file.real_path))
        if reason:
            raise MailRefused(f"{config_file.display}: {reason}; nothing changed")
    if not config_file.data.strip():
        raise MailRefused(f"{config_file.display}: the file is empty; nothing changed")
    try:
        accounts = module.accounts(config_file.text)
    except MailConfigError as error:
        raise refused_at(config_file.display, error) from None
    return Opened(entry, module, files, config_file, accounts)


def _only(entry, group: list[Opened]) -> frozenset[str]:
    """The entry's `accounts:`, each checked against the account names of the entry's files."""
    wanted = frozenset(entry.accounts)
    accounts = [a for opened in group for a in opened.accounts]
    for name in wanted:
        if not any(_selected(a, frozenset({name})) for a in accounts):
            names = ", ".join(a.name for a in accounts) or "none"
            where = ", ".join(opened.config_file.display for opened in group)
            raise MailRefused(f"{where}: no account {name!r} (accounts: {names}); nothing changed")
    return wanted


def _files_to_change(config, environ, home, run):
    """(entry, opened, group: all of the entry's files) for every file of every entry, all opened
    before the first is yielded (a refusal anywhere comes before any work); a file named twice is
    refused."""
    seen, groups = set(), []
    for entry in config.mailer:
        group = [open_entry(entry, location, config, run, for_change=True)
                 for location in locate(entry, environ, home)]
        for opened in group:
            _refuse_twice(opened, seen)
        groups.append((entry, group))
    for entry, group in groups:
        for opened in group:
            yield entry, opened, group


def _defaults(environ, home):
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home()) if home is None else home
    return environ, home


def _pop_warnings(accounts: list[Account]) -> list[str]:
    return [w for a in accounts if is_pop(a) for w in a.warnings]


# -- the three actions ---------------------------------------------------------------------


def status(config, state_dir, *, environ=None, home=None, run: Callable = process.run) -> list[FileReport]:
    """Every configured client's accounts and mode; problems are reported, not raised."""
    environ, home = _defaults(environ, home)
    originals = Originals(state_dir)
    reports = []
    for entry in config.mailer:
        try:
            locations = locate(entry, environ, home)
        except MailRefused as error:
            reports.append(FileReport(entry.kind, "(usual places)", "status", error=error.message))
            continue
        for location in locations:
            reports.append(_status_of(entry, location, config, run, originals))
    return reports


def _status_of(entry, location: Location, config, run, originals: Originals) -> FileReport:
    report = FileReport(entry.kind, str(location), "status")
    try:
        opened = open_entry(entry, location, config, run)
    except (MailRefused, MailConfigError) as error:
        report.error = getattr(error, "message", str(error))
        return report
    report.file = opened.config_file.display
    report.accounts = opened.accounts
    report.mode = report.mode_before = mode_of_accounts(opened.accounts)
    report.held = originals.get(opened.config_file.key) is not None
    report.warnings = _pop_warnings(opened.accounts)
    if not any(is_pop(a) for a in opened.accounts):
        report.notes.append("no POP account in this file: nothing in it deletes mail on the server")
    return report


@dataclass
class _Step:
    opened: Opened
    report: FileReport
    new_data: bytes
    saved: Saved | None  # what to record (keep) or None
    drop: bool = False  # revert: forget the saved original afterwards


def _locked(state_dir, command: str, dry_run: bool):
    """The mailer lock around a real keep or revert (TemporaryError, exit 75, while another holds it)."""
    if dry_run:
        return contextlib.nullcontext()
    from travelsync.mail import lock

    return lock.hold(state_dir, command)


def keep(config, state_dir, *, dry_run: bool = False, environ=None, home=None,
         run: Callable = process.run) -> list[FileReport]:
    """Switch every configured POP account to keep-on-server.  Raise MailRefused, changing nothing,
    or TemporaryError while another keep or revert runs."""
    with _locked(state_dir, "mailer keep", dry_run):
        return _keep(config, state_dir, dry_run, environ, home, run)


def _keep(config, state_dir, dry_run: bool, environ, home, run: Callable) -> list[FileReport]:
    environ, home = _defaults(environ, home)
    originals = Originals(state_dir)
    steps = []
    for entry, opened, group in _files_to_change(config, environ, home, run):
        config_file = opened.config_file
        only = _only(entry, group)
        if not _has_pop(opened, only):
            # IMAP only (or none of the selected accounts is POP): nothing here deletes mail on the server
            report = _report(opened, "keep", config_file.text, opened.accounts, dry_run)
            report.notes.append(NO_POP_NOTE)
            steps.append(_Step(opened, report, config_file.data, None))
            continue
        try:
            plan = opened.module.plan_keep(config_file.text, only)
            new_accounts = opened.module.accounts(plan.new_text)
        except MailConfigError as error:
            raise refused_at(config_file.display, error) from None
        still = [a.name for a in new_accounts if is_pop(a) and a.mode != KEEP and (not only or _selected(a, only))]
        if still:
            raise MailRefused(f"{config_file.display}: could not switch {', '.join(still)} to keep-on-server; "
                              "nothing changed")
        report = _report(opened, "keep", plan.new_text, new_accounts, dry_run)
        report.changes = list(plan.changes)
        report.warnings = list(plan.warnings)
        report.held = originals.get(config_file.key) is not None
        new_data = encode(plan.new_text)
        saved = None
        if plan.changed:
            refuse_unwritable(config_file)
            _note(report, opened.files.check(config_file, new_data, opened.module))
            saved = _to_save(opened, plan, new_data, originals.get(config_file.key), environ)
        else:
            report.notes.append("already keeps mail on the server; nothing to change")
        steps.append(_Step(opened, report, new_data, saved))
    return _carry_out(steps, originals, dry_run)


def _refuse_twice(opened: Opened, seen: set[str]) -> None:
    """One file in two entries would be planned twice from the same text: the second replace would fail."""
    key = opened.config_file.key
    if key in seen:
        raise MailRefused(f"{opened.config_file.display}: named by two mailer entries; list all its accounts "
                          "in one entry; nothing changed")
    seen.add(key)


def _selected(account: Account, only: frozenset[str]) -> bool:
    return any(name == account.name or name in account.name.split() for name in only)


def _has_pop(opened: Opened, only: frozenset[str]) -> bool:
    """A POP account to switch: any, or one of those `accounts:` names (`only`)."""
    return any(is_pop(a) for a in opened.accounts if not only or _selected(a, only))


def _to_save(opened: Opened, plan: Plan, new_data: bytes, existing: Saved | None, environ) -> Saved:
    """The original to record; a second keep on a file keeps the first original."""
    config_file = opened.config_file
    original, changes = config_file.data, plan.changes
    if existing is not None:
        if existing.written_sha256 == config_file.sha256:
            original, changes = existing.original, existing.changes + plan.changes
        else:  # edited since the first keep: the original is today's file without travelsync's edits
            undone = opened.module.plan_revert(config_file.text, existing.changes)
            original, changes = encode(undone.new_text), existing.changes + plan.changes
    stamp = clock.utc_stamp(clock.now(environ))
    return Saved(opened.entry.kind, config_file.display, original, sha256(new_data), tuple(changes), stamp)


def revert(config, state_dir, *, dry_run: bool = False, environ=None, home=None,
           run: Callable = process.run) -> list[FileReport]:
    """Put back what keep changed: the original bytes when the file is as keep left it, else undo
    only travelsync's settings (and say so).  Raise MailRefused, changing nothing, or
    TemporaryError while another keep or revert runs."""
    with _locked(state_dir, "mailer revert", dry_run):
        return _revert(config, state_dir, dry_run, environ, home, run)


def _revert(config, state_dir, dry_run: bool, environ, home, run: Callable) -> list[FileReport]:
    environ, home = _defaults(environ, home)
    originals = Originals(state_dir)
    steps = []
    for _entry, opened, _group in _files_to_change(config, environ, home, run):
        config_file = opened.config_file
        saved = originals.get(config_file.key)
        if saved is None:
            report = _report(opened, "revert", config_file.text, opened.accounts, dry_run)
            report.notes.append("travelsync holds no original for this file (no keep in force); nothing to revert")
            steps.append(_Step(opened, report, config_file.data, None))
            continue
        # A revert needs no POP account check: it only undoes what keep recorded.
        plan_warnings: tuple[str, ...] = ()
        changes = list(saved.changes)
        if config_file.sha256 == saved.written_sha256:
            new_data, how = saved.original, "put back the original bytes"
        elif config_file.data == saved.original:
            new_data, how, changes = saved.original, "already the original", []
        else:
            try:
                plan = opened.module.plan_revert(config_file.text, saved.changes)
            except MailConfigError as error:
                raise refused_at(config_file.display, error) from None
            new_data, plan_warnings, changes = encode(plan.new_text), plan.warnings, list(plan.changes)
            how = (f"the file was edited since keep: reverted only the {len(plan.changes)} setting(s) "
                   "travelsync changed")
        new_text = new_data.decode("utf-8", "surrogateescape")
        try:
            new_accounts = opened.module.accounts(new_text)
        except MailConfigError:
            new_accounts = []
        report = _report(opened, "revert", new_text, new_accounts, dry_run)
        report.changes = [Change(c.account, c.setting, c.after, c.before) for c in saved.changes] \
            if how == "put back the original bytes" else changes
        report.notes.append(how)
        report.warnings.extend(plan_warnings)
        report.held = True  # until the revert is carried out
        if new_data != config_file.data:
            refuse_unwritable(config_file)
            if how != "put back the original bytes":
                _note(report, opened.files.check(config_file, new_data, opened.module))
        steps.append(_Step(opened, report, new_data, None, drop=True))
    return _carry_out(steps, originals, dry_run)


def _report(opened: Opened, action: str, new_text: str, new_accounts, dry_run: bool) -> FileReport:
    config_file = opened.config_file
    report = FileReport(opened.entry.kind, config_file.display, action, dry_run=dry_run)
    report.mode_before = mode_of_accounts(opened.accounts)
    report.mode = mode_of_accounts(new_accounts)
    report.accounts = new_accounts
    report.diff = unified_diff(config_file.text, new_text, config_file.display)
    report.changed = encode(new_text) != config_file.data
    return report


def _note(report: FileReport, note: str | None) -> None:
    if note:
        report.notes.append(note)


def _carry_out(steps: list[_Step], originals: Originals, dry_run: bool) -> list[FileReport]:
    """Phase two: every file was read, parsed and checked; now record originals and replace."""
    if dry_run:
        return [step.report for step in steps]
    for step in steps:
        config_file = step.opened.config_file
        key = config_file.key
        if step.report.changed:
            previous = originals.get(key)
            if step.saved is not None:
                originals.put(key, step.saved)  # before the replace: a crash never loses the original
            try:
                step.opened.files.replace(config_file, step.new_data)
            except BaseException:
                if step.saved is not None:
                    originals.put(key, previous) if previous else originals.drop(key)
                raise
        if step.drop:
            originals.drop(key)
        step.report.held = originals.get(key) is not None
    return [step.report for step in steps]


def revert_order_warning(config, *, where: str = "home") -> list[str]:
    """Warnings about the order after a trip, for clients that delete what they kept once switched back."""
    warnings = []
    for entry in config.mailer:
        try:
            module = registry.client(entry.kind)
        except Exception:
            continue
        if module.AFTER_TRIP_DELETES_KEPT:
            place = entry.file or f"{entry.kind}'s usual file"
            warnings.append(
                f"{entry.kind} ({place}) deletes the messages it kept on the server as soon as it is switched back: "
                f"revert it on {where} only after {where} has fetched all of the trip's mail, and leave the "
                "laptop's copy on keep (or stop it) so that it never deletes mail home has not fetched yet")
    return warnings
