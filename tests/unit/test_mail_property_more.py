"""Properties of the Thunderbird, mutt, Claws, Evolution and KMail adapters on generated files:
keep then revert(changes) gives back the original bytes, keep twice equals keep once, only
POP accounts change, and after keep every selected POP account keeps mail on the server."""

from hypothesis import given, settings
from hypothesis import strategies as st

from travelsync.mail.clients import claws, evolution, kmail, mutt, thunderbird
from travelsync.mail.model import KEEP

EOL = st.sampled_from(["\n", "\r\n"])
WORDS = st.text(alphabet="abcdekpl #;=:/.-", min_size=0, max_size=14)  # keep, delete, '#', ';' and '=' all occur
COMMENT_WORDS = st.text(alphabet="abcdekpl #;=\"'", max_size=20)


def _join(lines: list[str], eol: str, final: bool) -> str:
    return eol.join(lines) + (eol if final and lines else "")


def _check(module, text: str) -> None:
    before = {a.name: a for a in module.accounts(text)}
    plan = module.plan_keep(text)
    after = {a.name: a for a in module.accounts(plan.new_text)}
    assert after.keys() == before.keys()
    for name, account in before.items():
        if account.protocol.startswith("pop"):
            assert after[name].mode == KEEP
        else:
            assert after[name].mode == account.mode
    again = module.plan_keep(plan.new_text)
    assert again.new_text == plan.new_text and again.changes == ()
    assert module.plan_revert(plan.new_text, plan.changes).new_text == text
    if not plan.changes:
        assert plan.new_text == text


# --- Thunderbird ------------------------------------------------------------------------------

LEAVE_STATES = st.sampled_from([(), ("true",), ("false",), ("false", "true"), ("true", "false"), ("false", "false")])


@st.composite
def prefs_js(draw):
    lines = ["// Mozilla User Preferences", ""]
    for number in range(1, draw(st.integers(1, 5)) + 1):
        key = f"mail.server.server{number}"
        protocol = draw(st.sampled_from(["pop3", "imap", "none", "pop3"]))
        server = [f'user_pref("{key}.hostname", "{draw(WORDS)}");', f'user_pref("{key}.type", "{protocol}");']
        server += [f'user_pref("{key}.leave_on_server", {value});' for value in draw(LEAVE_STATES)]
        if draw(st.booleans()):
            server.append(f'user_pref("{key}.delete_by_age_from_server", {draw(st.sampled_from(["true", "false"]))});')
        lines += draw(st.permutations(server))
        if draw(st.booleans()):
            lines.append(f"// {draw(COMMENT_WORDS)}")
    return _join(lines, draw(EOL), draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(prefs_js())
def test_thunderbird_round_trip(text):
    _check(thunderbird, text)


# --- mutt -------------------------------------------------------------------------------------

MUTT_LINES = st.sampled_from([
    "set pop_delete=yes", "set pop_delete=no", "set pop_delete = \"ask-yes\"", "set pop_delete='ask-no'",
    "set pop_delete", "set nopop_delete", "set invpop_delete", "set &pop_delete", "unset pop_delete",
    "toggle pop_delete", "reset pop_delete", "set pop_delete=yes ; set sort=threads",
    "set realname=\"Marc # keep delete\"   # comment: pop_delete=yes", "# set pop_delete=yes",
    "set pop_checkinterval=60", "folder-hook . 'set pop_delete=yes'", "", "set sort=date",
    "mailboxes pops://marc@pop.example.org/",
])


@st.composite
def muttrc(draw):
    lines = ["set pop_host=\"pops://marc@pop.example.org\""] if draw(st.booleans()) else []
    lines += draw(st.lists(MUTT_LINES, max_size=8))
    return _join(lines, draw(EOL), draw(st.booleans()))


@settings(max_examples=200, deadline=None)
@given(muttrc())
def test_mutt_round_trip(text):
    _check(mutt, text)


# --- Claws ------------------------------------------------------------------------------------

@st.composite
def accountrc(draw):
    lines = []
    for number in range(1, draw(st.integers(1, 4)) + 1):
        section = [f"account_name={draw(WORDS)}", f"protocol={draw(st.sampled_from(['0', '3', '0', '5']))}"]
        section += [f"remove_mail={value}" for value in draw(st.lists(st.sampled_from(["0", "1"]), max_size=2))]
        if draw(st.booleans()):
            section.append(f"message_leave_time={draw(st.integers(0, 30))}")
        lines += [f"[Account: {number}]", *draw(st.permutations(section))]
        if draw(st.booleans()):
            lines.append("")
    return _join(lines, draw(EOL), draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(accountrc())
def test_claws_round_trip(text):
    _check(claws, text)


# --- Evolution and KMail ----------------------------------------------------------------------

BOOLEAN_LINES = st.lists(st.sampled_from(["true", "false", "0", "1"]), max_size=2)


@st.composite
def evolution_source(draw):
    pop = ["AutoFetch=true", f"DeleteAfterDays={draw(st.integers(0, 9))}"]
    pop += [f"KeepOnServer{draw(st.sampled_from(['=', ' = ']))}{value}" for value in draw(BOOLEAN_LINES)]
    lines = [f"# {draw(COMMENT_WORDS)}", "[Data Source]", f"DisplayName={draw(WORDS)}", "",
             "[Mail Account]", "BackendName=pop", "", "[Pop Backend]", *draw(st.permutations(pop))]
    return _join(lines, draw(EOL), draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(evolution_source())
def test_evolution_round_trip(text):
    _check(evolution, text)


@st.composite
def kmail_resource(draw):
    general = [f"host={draw(WORDS)}", "login=marc", f"leaveOnServerDays={draw(st.integers(-1, 9))}", "port=995"]
    general += [f"leaveOnServer={value}" for value in draw(BOOLEAN_LINES)]
    lines = ["[General]", *draw(st.permutations(general)), "", "[LeaveOnServer]", "seenUidList=a,b"]
    if draw(st.booleans()):
        lines = [f"# {draw(COMMENT_WORDS)}", *lines]
    return _join(lines, draw(EOL), draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(kmail_resource())
def test_kmail_round_trip(text):
    _check(kmail, text)
