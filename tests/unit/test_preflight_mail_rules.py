"""The mail check's pure parts: targets and their TLS mode, error classification, the grading
per address family (travelsync/preflight/mailserver.py, checks/mail.py), and the servers read
from each client's file (travelsync/mail/servers.py). Issue 22."""

import errno
import socket
import ssl

import pytest

from travelsync.config.load import parse_config
from travelsync.config.model import MailerEntry
from travelsync.errors import ConfigError
from travelsync.mail import servers
from travelsync.preflight import mailserver
from travelsync.preflight.checks.mail import report
from travelsync.preflight.mailserver import Attempt, Target


@pytest.mark.parametrize("text, expected", [
    ("imap.example.org:993", Target("imap.example.org", 993, "imap", False)),
    ("imap.example.org:143", Target("imap.example.org", 143, "imap", True)),
    ("pop.example.org:110", Target("pop.example.org", 110, "pop3", True)),
    ("smtp.example.org:587", Target("smtp.example.org", 587, "smtp", True)),
    ("smtp.example.org:465", Target("smtp.example.org", 465, "smtp", False)),
    ("[2001:db8::1]:995", Target("2001:db8::1", 995, "pop3", False)),
    ("mail.example.org:10993", Target("mail.example.org", 10993, "tls", False)),
])
def test_the_port_decides_implicit_tls_or_starttls(text, expected):
    assert mailserver.target(text) == expected
    assert Target("2001:db8::1", 995, "pop3", False).text == "[2001:db8::1]:995"


def verification(code, message):
    error = ssl.SSLCertVerificationError(1, message)
    error.verify_code, error.verify_message = code, message
    return error


@pytest.mark.parametrize("error, phase, finding", [
    (verification(10, "certificate has expired"), "tls", mailserver.EXPIRED),
    (verification(62, "Hostname mismatch"), "tls", mailserver.WRONG_NAME),
    (verification(20, "unable to get local issuer certificate"), "tls", mailserver.UNTRUSTED),
    (verification(9, "certificate is not yet valid"), "tls", mailserver.BAD_CERTIFICATE),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "connect", mailserver.REFUSED),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "connect", mailserver.UNREACHABLE),
    (socket.timeout("timed out"), "connect", mailserver.TIMEOUT),
    (socket.timeout("timed out"), "tls", mailserver.TLS_REFUSED),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "tls", mailserver.TLS_REFUSED),
    (mailserver.StartTlsRefused("STLS refused: '-ERR'"), "starttls", mailserver.STARTTLS_REFUSED),
])
def test_classify(error, phase, finding):
    assert mailserver.classify(error, phase)[0] == finding


TARGET = Target("mail.example.org", 993, "imap", False)
BOTH = {"ipv6": (["2001:db8::25"], None), "ipv4": (["192.0.2.25"], None)}
V6_OK = Attempt("ipv6", "2001:db8::25", mailserver.OK, "TLSv1.3, certificate valid")
V4_OK = Attempt("ipv4", "192.0.2.25", mailserver.OK, "TLSv1.3, certificate valid")
V6_DOWN = Attempt("ipv6", "2001:db8::25", mailserver.UNREACHABLE, "unreachable (Network is unreachable)")
V4_EXPIRED = Attempt("ipv4", "192.0.2.25", mailserver.EXPIRED, "certificate expired")


def test_report_grades_per_family():
    ok = report(TARGET, BOTH, [V6_OK, V4_OK], True, None)
    assert (ok["status"], ok["summary"]) == ("ok", "mail.example.org:993 reached over IPv6 and IPv4, TLS with a "
                                                   "valid certificate")
    half = report(TARGET, BOTH, [V6_DOWN, V4_OK], True, None)
    assert (half["status"], half["summary"]) == ("warn", "mail.example.org:993 works over IPv4 only: IPv6 "
                                                         "2001:db8::25: unreachable (Network is unreachable)")
    none = report(TARGET, BOTH, [V6_DOWN, V4_EXPIRED], True, None)
    assert none["status"] == "fail" and none["families"]["ipv4"]["addresses"][0]["finding"] == "certificate-expired"
    unresolved = report(TARGET, {"ipv6": ([], "Name or service not known"), "ipv4": ([], "Name or service not known")},
                        [], True, None)
    assert (unresolved["status"], unresolved["finding"]) == ("fail", "no-address")


def test_report_on_an_ipv6_only_network_and_with_a_tunnel():
    synthesized = Attempt("ipv6", "64:ff9b::c000:219", mailserver.OK, "TLSv1.3", nat64_prefix="64:ff9b::/96",
                          route={"dev": "wlan0", "through_tunnel": False})
    entry = report(TARGET, {"ipv6": ([], None), "ipv4": (["192.0.2.25"], None)}, [synthesized], False, "tun")
    assert entry["families"]["ipv4"]["note"] == "not tried: no native IPv4 on this network"
    assert entry["status"] == "ok"  # the tunnel is the fallback: a native path is no fault
    assert entry["families"]["ipv6"]["addresses"][0]["route"] == {"dev": "wlan0", "through_tunnel": False}
    assert "via NAT64 64:ff9b::/96: ok, TLSv1.3; NOT through the tunnel tun (route via wlan0)" in entry["lines"][0]
    through = Attempt("ipv6", "2001:db8::25", mailserver.OK, "TLSv1.3", route={"dev": "tun", "through_tunnel": True})
    assert report(TARGET, BOTH, [through, V4_OK], True, "tun")["status"] == "ok"


def test_servers_from_each_clients_file():
    fetchmailrc = ("defaults proto pop3\npoll pop.example.org proto pop3 port 995 user marc ssl keep\n"
                   "poll imap-alias via imap.example.org proto imap user marc\n")
    assert servers.fetchmail(fetchmailrc) == [servers.Server("pop.example.org", 995, "pop3", False),
                                              servers.Server("imap.example.org", 143, "imap", True)]
    getmailrc = "[retriever]\ntype = SimplePOP3SSLRetriever\nserver = pop.example.org\nusername = m\n[options]\n"
    assert servers.getmail(getmailrc) == [servers.Server("pop.example.org", 995, "pop3", False)]
    mpoprc = ("defaults\ntls on\naccount home\nhost pop.example.org\ntls_starttls off\n"
              "account work : home\nhost pop.work.example\ntls_starttls on\n")
    assert servers.mpop(mpoprc) == [servers.Server("pop.example.org", 995, "pop3", False),
                                    servers.Server("pop.work.example", 110, "pop3", True)]
    prefs = ('user_pref("mail.server.server1.type", "pop3");\n'
             'user_pref("mail.server.server1.hostname", "pop.example.org");\n'
             'user_pref("mail.server.server1.socketType", 3);\n'
             'user_pref("mail.server.server2.type", "imap");\n'
             'user_pref("mail.server.server2.hostname", "imap.example.org");\n'
             'user_pref("mail.server.server2.port", 1143);\n'
             'user_pref("mail.server.server2.socketType", 2);\n'
             'user_pref("mail.server.server3.type", "none");\n')
    assert servers.thunderbird(prefs) == [servers.Server("pop.example.org", 995, "pop3", False),
                                          servers.Server("imap.example.org", 1143, "imap", True)]
    mbsyncrc = "IMAPAccount a\nHost imap.example.org\nSSLType IMAPS\n\nIMAPAccount b\nHost imap.b.example\nPort 10143\n"
    assert servers.mbsync(mbsyncrc) == [servers.Server("imap.example.org", 993, "imap", False),
                                        servers.Server("imap.b.example", 10143, "imap", True)]
    offlineimaprc = ("[general]\naccounts = a\n[Account a]\nlocalrepository = l\nremoterepository = r\n"
                     "[Repository l]\ntype = Maildir\nlocalfolders = ~/Mail\n"
                     "[Repository r]\ntype = IMAP\nremotehost = imap.example.org\n")
    assert servers.offlineimap(offlineimaprc) == [servers.Server("imap.example.org", 993, "imap", False)]
    accountrc = ("[Account: 1]\nprotocol=0\nreceive_server=pop.example.org\nssl_pop=1\npop_port=995\n"
                 "[Account: 2]\nprotocol=3\nreceive_server=imap.example.org\nssl_imap=2\n"
                 "[Account: 3]\nprotocol=4\nreceive_server=news.example.org\n")
    assert servers.claws(accountrc) == [servers.Server("pop.example.org", 995, "pop3", False),
                                        servers.Server("imap.example.org", 143, "imap", True)]
    kmailrc = "[General]\nhost=pop.example.org\nport=995\nuseSSL=true\nleaveOnServer=false\n"
    assert servers.kmail(kmailrc) == [servers.Server("pop.example.org", 995, "pop3", False)]
    source = ("[Data Source]\nDisplayName=home\n[Pop Backend]\nKeepOnServer=false\n"
              "[Network]\nHost=pop.example.org\nPort=995\n[Security]\nMethod=ssl-on-alternate-port\n")
    assert servers.evolution(source) == [servers.Server("pop.example.org", 995, "pop3", False)]
    muttrc = ('set pop_host="pops://marc@pop.example.org"\nset folder=imaps://imap.example.org:10993/\n'
              "set smtp_url='smtp://marc@smtp.example.org:587/'  # outgoing\nmailboxes imaps://imap.example.org:10993/INBOX\n")
    assert servers.mutt(muttrc) == [servers.Server("pop.example.org", 995, "pop3", False),
                                    servers.Server("imap.example.org", 10993, "imap", False),
                                    servers.Server("smtp.example.org", 587, "smtp", True)]
    assert servers.evolution(source.replace("ssl-on-alternate-port", "starttls-on-standard-port")
                             .replace("Port=995", "Port=110")) == [servers.Server("pop.example.org", 110, "pop3", True)]


def test_from_mailers_reads_the_files_and_says_what_it_could_not(tmp_path):
    rc = tmp_path / "fetchmailrc"
    rc.write_text("poll pop.example.org proto pop3 user marc ssl\npoll pop.example.org proto pop3 user other ssl\n")
    broken = tmp_path / "mbsyncrc"
    broken.write_text("Host\n")
    targets, notes = servers.from_mailers(
        [MailerEntry("fetchmail", str(rc)), MailerEntry("mbsync", str(broken)), MailerEntry("mutt", "marc@laptop:/home/marc/.muttrc"),
         MailerEntry("mpop", "marc@laptop:/home/marc/.mpoprc")], tmp_path, {"HOME": str(tmp_path)})
    assert targets == [Target("pop.example.org", 995, "pop3", False)]  # one target, however many users
    assert notes[0].startswith(f"{broken}: mail servers not read (Host: parameter missing")
    assert notes[1].startswith("marc@laptop:/home/marc/.muttrc: on another machine")
    assert notes[2].startswith("marc@laptop:/home/marc/.mpoprc: on another machine")


def test_config_keys():
    base = "repository: /srv/r\nsources: [{name: home, path: /home/m}]\n"
    mail = parse_config(base + "preflight:\n  mail: {servers: ['imap.example.org:993', '[2001:db8::1]:465'], "
                               "ca_file: /etc/ssl/mine.pem}\n").preflight.mail
    assert mail.servers == ("imap.example.org:993", "[2001:db8::1]:465") and mail.ca_file == "/etc/ssl/mine.pem"
    with pytest.raises(ConfigError, match=r"preflight.mail.servers\[0\]: expected host:port"):
        parse_config(base + "preflight:\n  mail: {servers: [imap.example.org]}\n")


def test_an_ipv4_only_server_without_ipv4_or_nat64_is_named_as_such():
    entry = report(TARGET, {"ipv6": ([], None), "ipv4": (["192.0.2.25"], None)}, [], False, None)
    assert (entry["status"], entry["finding"]) == ("fail", "no-path")
    assert entry["summary"] == ("mail.example.org:993 has only IPv4 addresses, and this network has neither IPv4 nor "
                                "a NAT64 prefix to reach them")


def test_plan_synthesizes_only_where_the_network_needs_it():
    from ipaddress import IPv6Network

    from travelsync.preflight.checks.mail import plan

    v4only = Target("v4only.example", 993, "imap", False)
    resolved = {TARGET: BOTH, v4only: {"ipv6": ([], None), "ipv4": (["192.0.2.33", "198.51.100.7"], None)}}
    prefixes = [IPv6Network("2001:db8:122::/48"), IPv6Network("64:ff9b::/96")]
    assert plan([TARGET, v4only], resolved, False, prefixes) == [
        (TARGET, "ipv6", "2001:db8::25", None),
        (v4only, "ipv6", "2001:db8:122:c000:2:2100::", "2001:db8:122::/48"),
        (v4only, "ipv6", "2001:db8:122:c633:64:700::", "2001:db8:122::/48"),
        (v4only, "ipv6", "64:ff9b::c000:221", "64:ff9b::/96"),
        (v4only, "ipv6", "64:ff9b::c633:6407", "64:ff9b::/96")]
    assert plan([TARGET, v4only], resolved, True, prefixes) == [
        (TARGET, "ipv6", "2001:db8::25", None), (TARGET, "ipv4", "192.0.2.25", None),
        (v4only, "ipv4", "192.0.2.33", None), (v4only, "ipv4", "198.51.100.7", None)]
