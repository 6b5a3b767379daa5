"""Files as people publish them: mutt macros with quotes mutt itself tolerates, page breaks.

Each file here is written in the style of real published rc files (dotfile repositories,
wikis); the tests say what the client itself does with the same bytes.
"""

import pytest

from travelsync.mail.clients import fetchmail, getmail, mpop, mutt
from travelsync.mail.model import DELETE, KEEP, MailConfigError
from tests.unit.test_mail_property import check_keep_revert_round_trip

# A muttrc in the style of published dotfiles: POP inbox, pass(1) for the password, macros whose
# description or command never closes its quote (mutt ends the quote at the end of the line),
# and an Emacs page break (^L) between the parts.
MUTTRC_WITH_MACROS = """\
# ~/.muttrc -- mutt 2.x
set realname = "Marc Keller"
set from = "marc@example.org"
set pop_host = "pops://marc@pop.example.org"
set pop_pass = "`pass show mail/pop.example.org`"
set pop_delete = yes
set pop_checkinterval = 300
\f
# ---- macros ------------------------------------------------------------
macro index,pager \\cb "<pipe-message> urlscan<Enter>" "call urlscan to extract URLs out of a message"
macro index S "<shell-escape>notmuch new<enter>" "run notmuch new
macro index \\ek "<enter-command>set pager_index_lines=0; unset sidebar_visible<enter>
macro pager \\' "<exit>" 'back to the index
bind index G imap-fetch-mail
\f
# ---- colours -----------------------------------------------------------
color index yellow default '~N'
"""


def test_mutt_reads_an_unclosed_quote_to_the_end_of_the_line_and_so_do_we():
    (account,) = mutt.accounts(MUTTRC_WITH_MACROS)
    assert account.mode == DELETE
    plan = mutt.plan_keep(MUTTRC_WITH_MACROS)
    assert plan.new_text == MUTTRC_WITH_MACROS.replace("set pop_delete = yes", "set pop_delete = no")
    assert mutt.accounts(plan.new_text)[0].mode == KEEP
    check_keep_revert_round_trip(mutt, MUTTRC_WITH_MACROS)


def test_inside_an_unclosed_quote_a_semicolon_and_a_hash_are_text_up_to_the_end_of_the_line():
    # Were `;` a separator here, "set pop_delete=yes" would be a command of its own and decide the mode.
    text = ('set pop_host="pops://pop.example.org"\nset pop_delete=no\n'
            'macro index x "<enter-command>echo hi; set pop_delete=yes # delete?<enter>\n')
    assert mutt.accounts(text)[0].mode == KEEP
    assert mutt.plan_keep(text).changes == ()


def test_an_unclosed_backquote_is_still_refused_as_mutt_refuses_it():
    with pytest.raises(MailConfigError) as raised:
        mutt.accounts('set pop_host="pops://x"\nset pop_pass=`pass show pop\n')
    assert raised.value.line == 2 and "`" in raised.value.message


# -- a form feed is a page break, not binary data ---------------------------------------------

FETCHMAILRC_PAGES = ("# ~/.fetchmailrc\nset daemon 600\n\f\npoll pop.example.org proto pop3\n"
                     "    user 'marc' there with password 'x' is marc here\n    options no keep\n\f\n")
GETMAILRC_PAGES = ("[retriever]\ntype = SimplePOP3SSLRetriever\nserver = pop.example.org\nusername = marc\n"
                   "password_command = (\"pass\", \"show\", \"mail/pop\")\n\f\n[destination]\ntype = Maildir\n"
                   "path = ~/Mail/inbox/\n\f\n[options]\ndelete = true\nmessage_log = ~/.getmail/log\n")


@pytest.mark.parametrize("module, text", [
    (mutt, MUTTRC_WITH_MACROS),
    (fetchmail, FETCHMAILRC_PAGES),
    (getmail, GETMAILRC_PAGES),
])
def test_a_form_feed_line_is_read_as_the_client_reads_it(module, text):
    assert [a.mode for a in module.accounts(text)] == [DELETE]
    check_keep_revert_round_trip(module, text)
    check_keep_revert_round_trip(module, text.replace("\n", "\r\n"))


def test_mpop_itself_refuses_a_form_feed_line_so_the_reason_says_that_not_binary():
    # mpop 1.4: "line 3: unknown command" for a line holding only ^L
    with pytest.raises(MailConfigError) as raised:
        mpop.accounts("defaults\ntls on\n\f\naccount a\nhost h\n")
    assert raised.value.line == 3
    assert "form feed" in raised.value.message and "binary" not in raised.value.message


def test_an_mpop_eval_line_is_named_in_a_warning_as_travelsync_cannot_know_what_it_sets():
    text = ("defaults\ntls on\neval echo tls_trust_file system\n\naccount gmx\nhost pop.gmx.net\nkeep on\n"
            "eval pass show mail/mpop-extra\n\naccount plain\nhost pop.example.org\n")
    warnings = {a.name: a.warnings for a in mpop.accounts(text)}
    assert any("an `eval` line" in w for w in warnings["gmx"])  # its own, and the defaults' one
    assert any("an `eval` line" in w for w in warnings["plain"])  # inherited from defaults
