"""`travelsync preflight --only mail` against TLS servers in a namespace made for the test, with
a throwaway CA (tests/fixtures/netns_servers.py): a valid certificate, the wrong host name, an
expired certificate, a port without TLS, STARTTLS accepted and refused, an IPv6 address that
cannot be reached while IPv4 works, a tunnel the IPv6 path does not take, and servers read from
a mail client's file. Issue 22."""

import pytest

from tests.conftest import need_programs, need_root
from tests.fixtures.netns_ra import Namespaces
from tests.fixtures.netns_servers import remove_etc, serving_namespace, throwaway_ca

pytestmark = [pytest.mark.integration, pytest.mark.root]

HOSTS = {"mail.test": ["127.0.0.1", "::1"], "other.test": ["127.0.0.1", "::1"],
         "mail6dead.test": ["127.0.0.1", "2001:db8:dead::1"], "tunnelled.test": ["2001:db8:77::25"]}


@pytest.fixture(scope="module")
def mail_rig(tmp_path_factory):
    need_root()
    need_programs("ip", "openssl")
    folder = tmp_path_factory.mktemp("mail-tls")
    certificates = throwaway_ca(folder, ["mail.test", "mail6dead.test"])
    valid = {"cert": str(certificates.valid[0]), "key": str(certificates.valid[1])}
    expired = {"cert": str(certificates.expired[0]), "key": str(certificates.expired[1])}
    listeners = [{"port": 993, "mode": "tls", **valid}, {"port": 995, "mode": "tls", **expired},
                 {"port": 465, "mode": "plain"}, {"port": 143, "mode": "imap-starttls", **valid},
                 {"port": 110, "mode": "pop3-no-stls"}]
    namespaces = Namespaces()
    try:
        rig = serving_namespace(folder, listeners, HOSTS, namespaces)
        for command in (["tuntap", "add", "tsx0", "mode", "tun"], ["link", "set", "tsx0", "up"],
                        ["addr", "add", "2001:db8:77::1/64", "dev", "tsx0", "nodad"]):
            rig.exec("ip", *command)  # stands for a tunnel (no sit or wireguard in these kernels)
        rig.ca = certificates.ca
        yield rig
    finally:
        namespaces.teardown()
        remove_etc(namespaces)


def mail(rig, servers, extra: str = "", ca: bool = True):
    listed = ", ".join(f"'{s}'" for s in servers)
    ca_file = f", ca_file: {rig.ca}" if ca else ""
    config = rig.config(f"preflight:\n  mail: {{servers: [{listed}], timeout: 2{ca_file}}}\n{extra}")
    result = rig.travelsync("--config", config, "--json", "preflight", "--only", "mail")
    assert result.exit_code in (0, 1, 3), result.stderr
    (check,) = result.json["checks"]
    return result.exit_code, check


def families(entry):
    return {family: [(a["address"], a["finding"]) for a in data["addresses"]]
            for family, data in entry["families"].items()}


def test_a_valid_certificate_over_both_families_is_ok(mail_rig):
    code, check = mail(mail_rig, ["mail.test:993"])
    assert (code, check["status"]) == (0, "ok")
    assert check["summary"] == "mail.test:993 reached over IPv6 and IPv4, TLS with a valid certificate"
    (entry,) = check["data"]["servers"]
    assert families(entry) == {"ipv6": [("::1", "ok")], "ipv4": [("127.0.0.1", "ok")]}
    assert entry["tls"] == "implicit" and entry["families"]["ipv6"]["addresses"][0]["tls_version"].startswith("TLSv1")


def test_each_fault_is_its_own_finding(mail_rig):
    code, check = mail(mail_rig, ["other.test:993", "mail.test:995", "mail.test:465", "mail.test:110",
                                  "mail.test:143", "nowhere.test:993"])
    assert (code, check["status"]) == (1, "fail")
    entries = {e["server"]: e for e in check["data"]["servers"]}
    both = lambda finding, v6="::1": {"ipv6": [(v6, finding)], "ipv4": [("127.0.0.1", finding)]}  # noqa: E731
    assert families(entries["other.test:993"]) == both("wrong-host-name")
    assert "certificate is not for this host name" in entries["other.test:993"]["summary"]
    assert families(entries["mail.test:995"]) == both("certificate-expired")
    assert "certificate expired" in entries["mail.test:995"]["summary"]
    assert families(entries["mail.test:465"]) == both("tls-refused")
    assert "does not speak TLS" in entries["mail.test:465"]["summary"]
    assert families(entries["mail.test:110"]) == both("starttls-refused")
    assert "STLS refused: '-ERR STLS not supported here'" in entries["mail.test:110"]["summary"]
    assert entries["mail.test:143"]["status"] == "ok" and entries["mail.test:143"]["tls"] == "starttls"
    assert entries["nowhere.test:993"]["finding"] == "no-address" and entries["nowhere.test:993"]["status"] == "fail"
    assert set(check["data"]["findings"]) == {"ok", "wrong-host-name", "certificate-expired", "tls-refused",
                                              "starttls-refused", "no-address"}


def test_an_unknown_ca_is_named_and_points_to_ca_file(mail_rig):
    code, check = mail(mail_rig, ["mail.test:993"], ca=False)
    assert check["status"] == "fail" and "not issued by a trusted CA" in check["summary"]
    assert "preflight.mail.ca_file" in check["summary"]


def test_ipv6_unreachable_while_ipv4_works_is_a_warning_that_says_so(mail_rig):
    code, check = mail(mail_rig, ["mail6dead.test:993"])
    assert (code, check["status"]) == (3, "warn")
    assert check["summary"] == ("mail6dead.test:993 works over IPv4 only: IPv6 2001:db8:dead::1: "
                                "unreachable (Network is unreachable)")
    (entry,) = check["data"]["servers"]
    assert families(entry) == {"ipv6": [("2001:db8:dead::1", "unreachable")], "ipv4": [("127.0.0.1", "ok")]}


def test_with_a_tunnel_configured_the_ipv6_path_is_looked_up(mail_rig):
    extra = "  tunnel: {kind: tun, interface: tsx0}\n"
    code, check = mail(mail_rig, ["mail.test:993"], extra)
    assert check["status"] == "ok"  # native IPv6 works: not using the fallback tunnel is no fault
    assert any(line.startswith("mail.test:993 IPv6 ::1: ok,") and line.endswith("; NOT through the tunnel tsx0 "
                                                                                 "(route via lo)")
               for line in check["details"])
    route = check["data"]["servers"][0]["families"]["ipv6"]["addresses"][0]["route"]
    assert route == {"dev": "lo", "through_tunnel": False}
    code, check = mail(mail_rig, ["tunnelled.test:993"], extra)
    (attempt,) = check["data"]["servers"][0]["families"]["ipv6"]["addresses"]
    assert attempt["route"] == {"dev": "tsx0", "through_tunnel": True}
    assert check["details"][0].endswith("; through the tunnel tsx0")


def test_servers_default_to_those_in_the_mail_clients_files(mail_rig, tmp_path):
    rc = mail_rig.run_dir / "mbsyncrc"
    rc.write_text("IMAPAccount home\nHost mail.test\nUser marc\nSSLType IMAPS\n\n"
                  "IMAPStore home-remote\nAccount home\n")
    config = mail_rig.config(f"mailer:\n  - kind: mbsync\n    file: {rc}\n"
                             f"preflight:\n  mail: {{timeout: 2, ca_file: {mail_rig.ca}}}\n")
    result = mail_rig.travelsync("--config", config, "--json", "preflight", "--only", "mail")
    (check,) = result.json["checks"]
    assert result.exit_code == 0, check
    assert [e["server"] for e in check["data"]["servers"]] == ["mail.test:993"]


def test_an_ipv4_only_server_is_reached_through_nat64_on_an_ipv6_only_network(nat64_lab, tmp_path):
    """The name has only an A record and the laptop no IPv4: the check discovers the NAT64
    prefix (BIND's DNS64 in the lab), synthesizes the address and completes TLS through tayga."""
    import json

    from tests.fixtures.netns_nat64 import CHECK_SERVER, stop, travelsync_in
    from tests.fixtures.netns_servers import start_servers, write_hosts

    certificates = throwaway_ca(tmp_path, ["mail.test"])
    server = start_servers(nat64_lab.v4srv, [{"port": 993, "mode": "tls", "cert": str(certificates.valid[0]),
                                              "key": str(certificates.valid[1])}])
    write_hosts(nat64_lab.v6host, {"mail.test": [CHECK_SERVER]})
    try:
        config = tmp_path / "travelsync.yaml"
        config.write_text(f"repository: {tmp_path}/repo\nsources:\n  - name: home\n    path: {tmp_path}\n"
                          f"preflight:\n  mail: {{servers: [mail.test:993], timeout: 3, ca_file: {certificates.ca}}}\n"
                          "  nat64: {nameserver: '::1', timeout: 2}\n")
        done = travelsync_in(nat64_lab.v6host, "--config", config, "--json", "preflight", "--only", "mail")
        (check,) = json.loads(done.stdout)["checks"]
    finally:
        stop(server)
        remove_etc([nat64_lab.v6host])
    assert done.returncode == 0, check
    (entry,) = check["data"]["servers"]
    (attempt,) = entry["families"]["ipv6"]["addresses"]
    assert (attempt["address"], attempt["ok"], attempt["nat64_prefix"]) == ("2001:db8:122:c000:2:2100::", True,
                                                                           "2001:db8:122::/48")
    assert entry["families"]["ipv4"]["note"] == "not tried: no native IPv4 on this network"
    assert "IPv6-only network: NAT64 prefix 2001:db8:122::/48 (dns)" in check["details"]
    assert any("via NAT64 2001:db8:122::/48: ok, TLSv1" in line for line in check["details"])
