"""The demo's timeline as a person reads it (pure)."""

from datetime import datetime


def _bytes(count) -> str:
    from travelsync.rsync.progress import human_bytes

    return human_bytes(count or 0)


def human(result: dict) -> str:
    lines = ["travelsync demo: the journey in a sandbox", "",
             f"{'when':<16} {'step':<20} {'snapshot':<24} {'files':>6} {'sent':>10} {'seconds':>8}"]
    for row in result["timeline"]:
        when = datetime.fromisoformat(row["when"]).strftime("%a %d %b %H:%M")
        if row["step"] == "event":
            lines.append(f"{when:<16}   · {row['command']}")
            continue
        status = "" if row.get("exit") == 0 else f"  (exit {row.get('exit')})"
        lines.append(f"{when:<16} {row['step']:<20} {row.get('snapshot') or '-':<24} "
                     f"{row.get('files_transferred') or 0:>6} {_bytes(row.get('bytes_transferred')):>10} "
                     f"{row.get('seconds') or row.get('wall_seconds') or 0:>8.2f}{status}")
        for warning in row.get("warnings") or []:
            lines.append(f"{'':<16}   ! {warning}")
        if row.get("error"):
            lines.append(f"{'':<16}   ✗ {row['error']}")
    steps = {row["step"]: row for row in result["timeline"]}
    prepare, finalize = steps.get("prepare", {}), steps.get("finalize", {})
    if prepare.get("bytes_transferred") and finalize.get("bytes_transferred") is not None:
        share = 100 * finalize["bytes_transferred"] / prepare["bytes_transferred"]
        lines.append(f"\nfinalize moved {share:.1f} % of the bytes prepare moved "
                     f"({_bytes(finalize['bytes_transferred'])} of {_bytes(prepare['bytes_transferred'])})")
    lines.append("")
    for name, passed in result["checks"].items():
        lines.append(f"{'ok  ' if passed else 'FAIL'} {name}")
    lines.append("\nnot shown: the network preflight (it checks this machine's real network, which a sandbox\n"
                 "must not touch); run `travelsync preflight` on the laptop before you leave")
    if result.get("sandbox"):
        lines.append(f"\nsandbox kept: {result['sandbox']} (config: {result['sandbox']}/config/travelsync.yaml)")
    lines.append("demo " + ("succeeded" if result["ok"] else "FAILED"))
    return "\n".join(lines)
