"""`travelsync preflight`: run the network checks, optionally apply their fixes, or undo the route fix."""

import click

from travelsync.errors import TravelsyncError, UsageError
from travelsync.exitcodes import ExitStatus, worst


@click.command("preflight")
@click.option("--only", metavar="CHECKS", help="Comma-separated checks to run: portal, ipv6, tunnel, nat64, mail "
              "(default: all).")
@click.option("--fix", "apply_fix", is_flag=True, help="Offer each check's fix, print every command, run it "
              "when confirmed; then check again.")
@click.option("--yes", "-y", is_flag=True, help="With --fix or --undo-fix: do not ask, run every command.")
@click.option("--dry-run", is_flag=True, help="With --fix or --undo-fix: print the commands, change nothing.")
@click.option("--undo-fix", is_flag=True, help="Put back the routes and sysctl that the last --fix changed.")
@click.pass_obj
def preflight(app, only, apply_fix, yes, dry_run, undo_fix):
    """Check for a captive portal, IPv6, the tunnel, NAT64 and the mail servers before leaving.

    \b
    Checks (run at the same time, each within preflight.timeout seconds):
      portal  a captive portal: the RFC 8908 API the network announces (RFC 8910,
              as systemd-networkd or NetworkManager expose it) or that is
              configured, and an HTTP probe (preflight.portal.probe_url);
              redirects are reported, never followed; a portal found is named
              in the other checks' warnings and failures
      ipv6    a usable global address (not ULA, tentative, dadfailed, deprecated);
              default routes: none, several from router advertisements, close to
              expiry (preflight.ipv6.expiry_warning), expired; gateways that do not
              answer ping; the probe host:port reached over IPv6
      tunnel  when native IPv6 fails: the configured tunnel is up, has a global
              address and a default route; a client running without its interface
              is stuck
      nat64   RFC 7050 NAT64 prefix discovery (see `travelsync nat64 --help`)
      mail    each mail server (preflight.mail.servers, else those in the mail
              clients' files) over IPv6 and IPv4 (through NAT64 on an IPv6-only
              network): connect, TLS (STARTTLS on 143, 110, 587, 25) with the
              certificate and host name checked; with a tunnel configured,
              whether the IPv6 path goes through it

    \b
    The route fix (--fix, as root) pins one router that answers: it sets
    net.ipv6.conf.IF.accept_ra_defrtr=0 (on every interface that had one), deletes
    the router-advertised default routes and adds `default via ROUTER dev IF metric 1024 proto static`. How to
    undo it is recorded in $XDG_STATE_HOME/travelsync/preflight-fix.json first;
    --undo-fix restores the routes and the sysctl.

    \b
    Exit status: 0 every check ok (or skipped), 3 warnings, 1 a check failed
    (or a fix failed), 2 usage or configuration error.
    """
    from travelsync.preflight import render
    from travelsync.preflight.runner import parse_only, run_checks

    if apply_fix and undo_fix:
        raise UsageError("--fix and --undo-fix exclude each other")
    if (yes or dry_run) and not (apply_fix or undo_fix):
        raise UsageError("--yes and --dry-run go with --fix or --undo-fix")
    if undo_fix:
        return _undo(app, yes=yes, dry_run=dry_run)
    names = parse_only(only)
    results = run_checks(app.config, only=names, environ=app.environ)
    outcomes, checked_again = [], True
    if apply_fix:
        if not app.json and not app.quiet:
            print(render.table(results, fixing=True), file=app.stdout, flush=True)
        outcomes = _apply_fixes(app, results, yes=yes, dry_run=dry_run)
        checked_again = any(o["outcome"] in ("applied", "failed") for o in outcomes)
        if checked_again:
            results = run_checks(app.config, only=names, environ=app.environ)
            app.info("After the fixes:" if not app.json else "checked again after the fixes")
    document = {"checks": [r.as_json() for r in results]}
    if apply_fix:
        document["fixes"] = outcomes
    app.emit(document, (lambda _: render.table(results, fixing=apply_fix)) if checked_again else None)
    status = render.exit_status(results)
    if any(o["outcome"] == "failed" for o in outcomes):
        status = worst(status, ExitStatus.FAILURE)
    return status


def _confirm(app, question: str, yes: bool) -> bool:
    if yes:
        return True
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:  # no terminal to answer on: nothing is run
        app.info("\n(no answer: nothing run; use --yes to run without asking)")
        return False


def _apply_fixes(app, results, *, yes: bool, dry_run: bool) -> list[dict]:
    from travelsync.preflight import fix, netinfo

    outcomes = []
    for result in results:
        if not result.fix:
            continue
        entry = {"check": result.name, "commands": list(result.fix)}
        outcomes.append(entry)
        app.info(f"{result.name}: {result.summary}")
        if dry_run:
            for command in result.fix:
                app.info(f"  would run: {command}")
            entry["outcome"] = "dry-run"
            continue
        for command in result.fix:
            app.info(f"  {command}")
        if not _confirm(app, f"Run these {len(result.fix)} command(s) for {result.name}?", yes):
            entry["outcome"] = "declined"
            continue
        try:
            if "route_fix" in result.data:
                if not netinfo.is_root():
                    raise TravelsyncError("changing routes needs root: run `sudo travelsync preflight --fix`")
                plan = fix.RouteFix.from_json(result.data["route_fix"])
                record = fix.apply_route_fix(plan, state_dir=app.state_dir, environ=app.environ, echo=app.info)
                entry["undo"] = str(record)
                app.info(f"route fix applied; `travelsync preflight --undo-fix` reverses it (record: {record})")
            for action in result.data.get("actions", ()):
                if "argv" in action:
                    fix.run_commands([action["argv"]], echo=app.info)
                else:
                    app.info(fix.start_detached(action["detach"], state_dir=app.state_dir, echo=app.info))
            entry["outcome"] = "applied"
        except TravelsyncError as error:
            entry["outcome"], entry["error"] = "failed", error.message
            app.error(error.message)
            if error.hint:
                app.info(f"hint: {error.hint}")
    if not outcomes:
        app.info("nothing to fix")
    return outcomes


def _undo(app, *, yes: bool, dry_run: bool):
    from travelsync.preflight import fix, netinfo

    record = fix.load_record(app.state_dir)
    facts = netinfo.collect()
    commands = fix.plan_undo(record, facts.routes, fix.seconds_since(record, app.environ))
    shown = [fix.show(argv) for argv in commands]
    app.info(f"undo the route fix of {record['applied']} on {record['interface']} (router {record['gateway']}):")
    for command in shown:
        app.info(f"  {'would run: ' if dry_run else ''}{command}")
    document = {"undo": {"record": str(fix.record_path(app.state_dir)), "commands": shown, "applied": False}}
    if dry_run:
        app.emit(document)
        return ExitStatus.SUCCESS
    if not netinfo.is_root():
        raise TravelsyncError("changing routes needs root: run `sudo travelsync preflight --undo-fix`")
    if not _confirm(app, f"Run these {len(commands)} command(s)?", yes):
        app.emit(document)
        return ExitStatus.FAILURE
    fix.run_commands(commands, echo=app.info)
    fix.forget_record(app.state_dir)
    document["undo"]["applied"] = True
    app.emit(document, lambda _: "route fix undone")
    return ExitStatus.SUCCESS
