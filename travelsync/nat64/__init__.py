"""NAT64: find the network's prefixes (RFC 7050/8880, RFC 8781), synthesize and check addresses.

Modules: rfc6052 (address formats), discovery (answers → outcome), resolver (DNS questions),
pref64 (router advertisements), validate (§3.1.2), connectivity (§3.2). This module ties
them together for the CLI and the preflight check; nothing heavy is imported at the top.
"""

from dataclasses import dataclass, field

from travelsync.nat64 import discovery as discovery_rules
from travelsync.nat64.discovery import Discovery

DEFAULT_DOMAIN = "ipv4only.arpa"


@dataclass(frozen=True)
class Settings:
    """What discovery needs: from the command line, else from config preflight.nat64."""

    nameserver: str | None = None
    domain: str = DEFAULT_DOMAIN
    timeout: float = 3.0
    ra_interface: str | None = None
    check_server: str | None = None
    trusted_domains: tuple[str, ...] = ()
    resolv_conf: str = "/etc/resolv.conf"


@dataclass(frozen=True)
class Report:
    """Discovery plus the optional validation and connectivity check, per prefix."""

    discovery: Discovery
    validations: tuple = ()
    connectivity: tuple = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def rejected(self) -> tuple:
        """Prefixes left out of the usable list, with why (RFC 6052, failed check or validation)."""
        out = list(self.discovery.rejected)
        for item in self.connectivity:
            if item.status == "failed":
                out.append((item.prefix, f"connectivity check failed: {item.reason}"))
        for item in self.validations:
            if item.status in ("invalid", "untrusted", "unknown"):
                out.append((item.prefix, f"validation {item.status}: {item.reason}"))
        return tuple(out)

    @property
    def usable(self) -> tuple:
        rejected = {prefix for prefix, _ in self.rejected}
        return tuple(p for p in self.discovery.prefixes if p not in rejected)

    def connectivity_of(self, prefix):
        return next((c for c in self.connectivity if c.prefix == prefix), None)

    def validation_of(self, prefix):
        return next((v for v in self.validations if v.prefix == prefix), None)

    @property
    def exit_code(self) -> int:
        if self.discovery.outcome == discovery_rules.FOUND and not self.usable:
            return 1
        return discovery_rules.exit_code_for(self.discovery.outcome)

    def as_json(self) -> dict:
        data = self.discovery.as_json()
        data["prefixes"] = [str(p) for p in self.usable]
        data["rejected"] = [{"prefix": str(p), "reason": r} for p, r in self.rejected]
        if self.validations:
            data["validation"] = [v.as_json() for v in self.validations]
        if self.connectivity:
            data["connectivity"] = [c.as_json() for c in self.connectivity]
        data["notes"] = list(self.discovery.notes) + list(self.notes)
        return data


def nameservers(settings: Settings) -> list:
    from travelsync.nat64 import resolver

    if settings.nameserver:
        return [resolver.parse_nameserver(settings.nameserver)]
    return resolver.system_nameservers(settings.resolv_conf)


def asker(servers, timeout: float):
    """`ask(name, rdtype, dnssec=False) -> Answer` bound to the servers (for validate/connectivity)."""
    from travelsync.nat64 import resolver

    def ask(name, rdtype, dnssec=False):
        return resolver.ask(servers, name, rdtype, timeout=timeout, dnssec=dnssec)

    return ask


def discover(settings: Settings) -> Discovery:
    """PREF64 from router advertisements when asked and present (RFC 9872), else DNS."""
    ra_note = ()
    if settings.ra_interface:
        from travelsync.nat64 import pref64

        found, routers = pref64.read_from_interface(settings.ra_interface, timeout=settings.timeout)
        live = [item for item in found if item.usable]
        if live:
            return discovery_rules.from_pref64([item.prefix for item in live], min(i.lifetime for i in live),
                                               settings.ra_interface)
        ra_note = pref64.explain(settings.ra_interface, found, routers)
    from travelsync.nat64 import resolver

    result = resolver.discover(nameservers(settings), settings.domain, timeout=settings.timeout)
    if ra_note:
        from dataclasses import replace

        result = replace(result, notes=ra_note + result.notes)
    return result


def examine(result: Discovery, settings: Settings, *, validate: bool = False, check: bool = False,
            run=None) -> Report:
    """Validate (§3.1.2) and/or connectivity-check (§3.2) every discovered prefix."""
    if not result.prefixes or not (validate or check):
        return Report(result)
    from travelsync.errors import TravelsyncError
    from travelsync.nat64 import connectivity
    from travelsync.nat64 import validate as validation

    notes = ()
    try:
        ask = asker(nameservers(settings), settings.timeout)
    except TravelsyncError as error:  # PREF64 without a resolver: no PTR, no FQDN
        ask, notes = None, (f"no DNS resolver for validation or check servers: {error.message}",)
    validations = ()
    if validate:
        validations = tuple(validation.validate(prefix, settings.trusted_domains, ask) if ask
                            else validation.Validation(prefix, validation.UNKNOWN, notes[0])
                            for prefix in result.prefixes)
    results = ()
    if check:
        servers = {prefix: check_servers(prefix, settings, validations, ask) for prefix in result.prefixes}
        results = tuple(connectivity.check_prefixes(servers, run))
    return Report(result, validations, results, notes)


def check_servers(prefix, settings: Settings, validations, ask) -> list[str]:
    """The configured check server, then the A records of the prefix's NAT64 FQDN (§3.2)."""
    from travelsync.nat64 import validate as validation

    servers = [settings.check_server] if settings.check_server else []
    known = next((v for v in validations if v.prefix == prefix and v.check_servers), None)
    if known is not None:
        return servers + list(known.check_servers)
    if ask is not None:
        names, _ = validation.nat64_fqdns(prefix, ask)
        for name in names:
            answer = ask(name, "A")
            servers += list(answer.records) if answer.status == discovery_rules.ANSWER else []
    return servers
