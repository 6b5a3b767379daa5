"""`nat64 discover | synthesize | check`: the NAT64 prefix of this network, and addresses under it."""

import click

from travelsync.errors import UsageError

OUTCOME_HELP = """\b
Outcomes (JSON "outcome"):
  found          prefixes found (exit 0)
  non-standard   AAAA records, but no well-known address once at an RFC 6052 position (exit 1)
  not-dns64      no AAAA; the A records are 192.0.0.170/171: the resolver is not a DNS64 (exit 1)
  no-nat64       NXDOMAIN or no AAAA: no NAT64 here; "ttl" is the negative TTL (exit 1)
  no-answer      timeout, SERVFAIL or refused at every server, after retries (exit 75)"""


def discovery_options(function):
    """-d, -n, --timeout: shared by every nat64 command that may need to discover."""
    for option in reversed([
        click.option("-d", "--domain", metavar="DOMAIN",
                     help="Name whose AAAA reveals the prefix (RFC 7050 §3.3; default: ipv4only.arpa "
                          "or preflight.nat64.domain)."),
        click.option("-n", "--nameserver", metavar="NAMESERVER[:PORT]",
                     help="Ask this resolver: 192.0.2.53, 192.0.2.53:5353, 2001:db8::53, [::1]:5353, "
                          "fe80::1%eth0 (default: preflight.nat64.nameserver, else /etc/resolv.conf)."),
        click.option("--timeout", type=click.FloatRange(0.1, 120), metavar="S",
                     help="Seconds per DNS question, retries included (default 3, or preflight.nat64.timeout)."),
    ]):
        function = option(function)
    return function


@click.group()
def nat64():
    """Discover NAT64 prefixes; synthesize and check addresses.

    On an IPv6-only network, IPv4-only servers are reached through a NAT64 at addresses
    made of the network's prefix and the IPv4 address (RFC 6052). `discover` finds the
    prefixes (RFC 7050 with RFC 8880, or RFC 8781 router advertisements), `synthesize`
    builds the address for an IPv4 literal, `check` tells whether an address is synthetic.
    """


def _settings(app, domain=None, nameserver=None, timeout=None, ra_interface=None, check_server=None,
              trusted_domains=()):
    from travelsync.nat64 import DEFAULT_DOMAIN, Settings

    configured = _configured(app)
    return Settings(
        nameserver=nameserver or (configured.nameserver if configured else None),
        domain=domain or (configured.domain if configured else DEFAULT_DOMAIN),
        timeout=timeout or (configured.timeout if configured else 3.0),
        ra_interface=ra_interface,
        check_server=check_server or (configured.check_server if configured else None),
        trusted_domains=tuple(trusted_domains) or (tuple(configured.trusted_domains) if configured else ()),
    )


def _configured(app):
    """preflight.nat64 from the configuration, or None when there is no configuration file."""
    if not app.config_path.exists():
        return None
    return app.config.preflight.nat64


@nat64.command(epilog=OUTCOME_HELP, short_help="Find the NAT64 prefixes (DNS64 or router advertisements).")
@discovery_options
@click.option("--ra", "ra_interface", metavar="IFACE",
              help="First solicit router advertisements on IFACE and use their PREF64 option "
                   "(RFC 8781; preferred over DNS, RFC 9872). Needs CAP_NET_RAW.")
@click.option("-l", "--list", "as_list", is_flag=True, help="Only the prefixes, one `Prefix: P` line each.")
@click.option("--validate", is_flag=True,
              help="RFC 7050 §3.1.2: PTR of Pref64::WKA → NAT64 FQDN in a trusted domain → its AAAA. "
                   "Prefixes that fail are left out.")
@click.option("--trusted-domain", "trusted_domains", multiple=True, metavar="DOMAIN",
              help="Trust NAT64 FQDNs under DOMAIN (repeatable; default: preflight.nat64.trusted_domains).")
@click.option("--check", is_flag=True,
              help="RFC 7050 §3.2: ping a check server through each prefix (echo at 0, 1, 2 s; 3 s more). "
                   "Prefixes that fail are left out.")
@click.option("--check-server", metavar="IPV4",
              help="IPv4 check server (default: preflight.nat64.check_server, then the NAT64 FQDN's A records).")
@click.pass_obj
def discover(app, domain, nameserver, timeout, ra_interface, as_list, validate, trusted_domains, check,
             check_server):
    """Find the NAT64 prefixes of this network.

    Asks AAAA of ipv4only.arpa (RD=1, CD=0, never ANY) and looks for 192.0.0.170 in every
    answer, once, at an RFC 6052 position (192.0.0.171 when 170 occurs twice, RFC 7050
    §3); every distinct prefix is kept, in the order first seen. Exit 0 when a usable
    prefix is found, 1 otherwise, 75 when no server answered.

    \b
    Examples:
      travelsync nat64 discover -l
      travelsync nat64 discover -n '[::1]:5353' --json
      travelsync nat64 discover --validate --trusted-domain example.net --check
    """
    from travelsync import nat64 as service
    from travelsync.nat64 import rfc6052

    if check_server:
        from travelsync.nat64.connectivity import usable_check_servers

        if not usable_check_servers([check_server]):
            raise UsageError(f"--check-server {check_server!r}: expected an IPv4 address other than "
                             "192.0.0.170/171 (RFC 7050 §3.2.1)")
    settings = _settings(app, domain, nameserver, timeout, ra_interface, check_server, trusted_domains)
    result = service.discover(settings)
    report = service.examine(result, settings, validate=validate, check=check)
    for prefix, reason in report.rejected:
        app.warn(f"{prefix} left out: {reason}")
    for note in report.discovery.notes + report.notes:
        app.detail(note)
    if as_list:
        if not report.usable:
            app.info(f"{report.discovery.outcome}: {report.discovery.summary}")
        app.emit(report.as_json(), lambda data: _list_lines(report))
    else:
        app.emit(report.as_json(), lambda data: _report_lines(report, rfc6052))
    return report.exit_code


def _annotations(report, prefix) -> str:
    parts = []
    checked = report.connectivity_of(prefix)
    if checked is not None:
        parts.append(f"connectivity check: {checked.status}")
    validated = report.validation_of(prefix)
    if validated is not None:
        parts.append(f"validation: {validated.status}")
    return f" ({', '.join(parts)})" if parts else ""


def _list_lines(report) -> str:
    return "\n".join(f"Prefix: {prefix}{_annotations(report, prefix)}" for prefix in report.usable)


def _report_lines(report, rfc6052) -> str:
    found = report.discovery
    via = "router advertisement on" if found.source == "ra" else "resolver"
    ttl_name = "lifetime" if found.source == "ra" else "TTL"
    ttl = f", {ttl_name} {found.ttl} s" if found.ttl is not None else ""
    lines = [f"{found.outcome}: {found.summary} ({via} {found.server}{ttl})"]
    for prefix in report.usable:
        well_known = " (the well-known prefix)" if prefix == rfc6052.WELL_KNOWN_PREFIX else ""
        lines.append(f"Prefix: {prefix}{_annotations(report, prefix)}{well_known}")
    for validation in report.validations:
        lines.append(f"  {validation.prefix}: validation {validation.status}: {validation.reason}; "
                     f"DNSSEC {validation.dnssec}")
    for checked in report.connectivity:
        lines.append(f"  {checked.prefix}: connectivity check {checked.status}: {checked.reason}")
    return "\n".join(lines)


def _prefixes(app, given, domain, nameserver, timeout, *, fallback_well_known=False):
    """The --prefix values, else the discovered ones; returns (prefixes, discovery or None)."""
    from travelsync import nat64 as service
    from travelsync.nat64 import rfc6052

    if given:
        prefixes = []
        for text in given:
            try:
                prefixes.append(rfc6052.parse_prefix(text))
            except rfc6052.InvalidPrefix as error:
                raise UsageError(f"--prefix: {error}") from None
        return list(dict.fromkeys(prefixes)), None
    result = service.discover(_settings(app, domain, nameserver, timeout))
    prefixes = list(result.prefixes)
    if fallback_well_known and rfc6052.WELL_KNOWN_PREFIX not in prefixes:
        prefixes.append(rfc6052.WELL_KNOWN_PREFIX)
    return prefixes, result


@nat64.command(short_help="The IPv6 address of an IPv4 address under each prefix.")
@click.argument("ipv4")
@click.option("--prefix", "given", multiple=True, metavar="P",
              help="Use this prefix (repeatable) instead of discovering the network's.")
@discovery_options
@click.pass_obj
def synthesize(app, ipv4, given, domain, nameserver, timeout):
    """Print the IPv6 address of IPV4 under every discovered (or given) prefix.

    The well-known prefix 64:ff9b::/96 is refused for non-global IPv4 addresses (RFC 6052
    §3.1), and so is a discovered /96 prefix whose bits 64-71 are not zero (§2.2). Exit 0
    when at least one address was made, 1 when none could be, 75 when discovery got no
    answer.

    \b
    Example:
      travelsync nat64 synthesize 192.0.2.33 --prefix 2001:db8:122::/48
      → 2001:db8:122:c000:2:2100::
    """
    from ipaddress import IPv4Address

    from travelsync.nat64 import discovery, rfc6052

    try:
        address = IPv4Address(ipv4)
    except ValueError:
        raise UsageError(f"{ipv4!r} is not an IPv4 address") from None
    prefixes, result = _prefixes(app, given, domain, nameserver, timeout)
    made, refused, messages = [], [], []  # messages: one line per refusal, in the words of the rule
    for prefix, reason in (result.rejected if result else ()):  # the network's prefix, refused as discover does
        refused.append({"prefix": str(prefix), "reason": reason})
        messages.append(f"{prefix}: {reason}")
    for prefix in prefixes:
        try:
            made.append({"prefix": str(prefix), "address": str(rfc6052.synthesize(prefix, address))})
        except rfc6052.NonGlobalWithWellKnownPrefix as error:
            refused.append({"prefix": str(prefix), "reason": str(error)})
            messages.append(str(error))
    data = {"ipv4": str(address), "addresses": made, "refused": refused}
    if result is not None:
        data["outcome"] = result.outcome
    for message in messages:
        (app.warn if made else app.error)(message)
    app.emit(data, lambda d: "\n".join(item["address"] for item in d["addresses"]))
    if made:
        return 0
    if result is not None and not result.prefixes:
        app.error(f"no NAT64 prefix: {result.summary}")
        return discovery.exit_code_for(result.outcome) or 1
    return 1


@nat64.command(short_help="Is an IPv6 address synthetic? Which prefix, which IPv4.")
@click.argument("ipv6")
@click.option("--prefix", "given", multiple=True, metavar="P",
              help="Check against this prefix (repeatable) instead of the discovered ones.")
@discovery_options
@click.pass_obj
def check(app, ipv6, given, domain, nameserver, timeout):
    """Tell whether IPV6 is synthetic: under which prefix, embedding which IPv4 address.

    Without --prefix, the discovered prefixes and the well-known prefix 64:ff9b::/96 are
    tried. An address that breaks RFC 6052 is not synthetic, in the words synthesize
    uses: 64:ff9b::/96 with a non-global IPv4 address (§3.1), a discovered /96 prefix
    whose bits 64-71 are not zero (§2.2). Exit 0 when synthetic, 1 when not.

    \b
    Example:
      travelsync nat64 check 2001:db8:122:c000:2:2100:: --prefix 2001:db8:122::/48
      → 2001:db8:122:c000:2:2100:: is synthetic: prefix 2001:db8:122::/48, IPv4 192.0.2.33
    """
    from ipaddress import IPv6Address

    from travelsync.nat64 import rfc6052

    try:
        address = IPv6Address(ipv6)
    except ValueError:
        raise UsageError(f"{ipv6!r} is not an IPv6 address") from None
    prefixes, result = _prefixes(app, given, domain, nameserver, timeout, fallback_well_known=True)
    data = {"address": str(address), "synthetic": False, "prefix": None, "ipv4": None,
            "prefixes_checked": [str(p) for p in prefixes], "reasons": []}
    refusals = []  # a rule of RFC 6052 that this address breaks: the reason it is not synthetic
    if result is not None:
        data["outcome"] = result.outcome
        for prefix, reason in result.rejected:  # the network's own prefix, refused as discover refuses it
            data["reasons"].append(f"{prefix}: {reason}")
            if address in prefix:
                refusals.append(data["reasons"][-1])
    for prefix in prefixes:
        try:
            embedded = rfc6052.synthetic_ipv4(address, prefix)
        except rfc6052.NonGlobalWithWellKnownPrefix as error:
            data["reasons"].append(str(error))
            refusals.append(str(error))
            continue
        except (rfc6052.NotEmbedded, rfc6052.InvalidPrefix) as error:
            data["reasons"].append(str(error))
            continue
        data.update(synthetic=True, prefix=str(prefix), ipv4=str(embedded))
        break

    def human(d):
        if d["synthetic"]:
            return f"{d['address']} is synthetic: prefix {d['prefix']}, IPv4 {d['ipv4']}"
        if refusals:
            return f"{d['address']} is not synthetic: {'; '.join(refusals)}"
        return f"{d['address']} is not synthetic (checked: {', '.join(d['prefixes_checked'])})"

    app.emit(data, human)
    return 0 if data["synthetic"] else 1
