# Run by travelsync with getmail's own interpreter: python3 -c <this> getmail RCFILE
# Reads RCFILE the way getmail(1) does -- its RawConfigParser with getmail's defaults, its
# boolean/integer option types, its retriever classes and their parameter checks, the names
# of its destination and filter classes -- and prints the options that decide what is
# deleted, as JSON.  Unlike `getmail --dump` it opens no message_log, reads no netrc, and does
# not require the delivery targets (nor certificate files, nor folders) to exist: the check
# is about what the file means.
# Exit 0 and JSON on stdout; 1 and one line on stderr when getmail would refuse the file;
# 127 when getmail is not installed.
import importlib.machinery
import importlib.util
import json
import os
import shutil
import sys
import tempfile

program, path = sys.argv[1], sys.argv[2]
out, err = sys.stdout, sys.stderr
sys.stdout = sys.stderr = open(os.devnull, "w")  # getmail's own logging: not ours to print
found = shutil.which(program)
if not found:
    sys.exit(127)
try:
    loader = importlib.machinery.SourceFileLoader("travelsync_getmail_script", os.path.realpath(found))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    getmail = importlib.util.module_from_spec(spec)
    loader.exec_module(getmail)  # its main() runs only as __main__
    retrievers, destinations, filters = getmail.retrievers, getmail.destinations, getmail.filters
    ConfigParser = getmail.ConfigParser
except (ImportError, AttributeError, OSError, SystemExit) as error:
    err.write(f"getmail's own modules cannot be loaded: {error}\n")
    sys.exit(127)


# The existence of files and folders a setting names (ca_certs, keyfile, getmaildir, ...) says
# nothing about what the file means; getmail's own type and "required" checks stay.
from getmailcore import baseclasses  # noqa: E402

for _kind in (baseclasses.ConfFile, baseclasses.ConfDirectory):
    _kind.validate = baseclasses.ConfString.validate


def fail(message):
    err.write(message.replace("\n", " ") + "\n")
    sys.exit(1)


config = {key: value for key, value in getmail.defaults.items()
          if key in getmail.options_bool + getmail.options_int + getmail.options_str}
parser_defaults = {key: str(value) if isinstance(value, bool) else value for key, value in config.items()}
try:
    parser = ConfigParser.RawConfigParser(parser_defaults)
    with open(path) as handle:
        parser.read_file(handle)
    for option in getmail.options_bool:
        if parser.has_option("options", option):
            try:
                config[option] = parser.getboolean("options", option)
            except ValueError:
                fail(f"option {option} must be boolean, not {parser.get('options', option)}")
    for option in getmail.options_int:
        if parser.has_option("options", option):
            try:
                config[option] = parser.getint("options", option)
            except ValueError:
                fail(f"option {option} must be integer, not {parser.get('options', option)}")
    parser._defaults = {}
    retriever_type = parser.get("retriever", "type")
    retriever_class = getattr(retrievers, retriever_type, None)
    if not callable(retriever_class):
        fail(f"incorrect retriever type ({retriever_type})")
    with tempfile.TemporaryDirectory(prefix="travelsync-getmaildir-") as getmaildir:
        arguments = {"getmaildir": getmaildir, "configparser": parser}
        arguments.update((name, value) for name, value in parser.items("retriever") if name != "type")
        retriever = retriever_class(**arguments)  # getmail's own parameter checks; no connection
    for section, module in [("destination", destinations)] + [
            (name, filters) for name in parser.sections() if name.lower().startswith("filter")]:
        kind = parser.get(section, "type")
        if not callable(getattr(module, kind, None)):
            fail(f"[{section}] incorrect type ({kind})")
except SystemExit:
    raise
except (ConfigParser.Error, getmail.getmailConfigurationError, getmail.getmailOperationError) as error:
    fail(f"{type(error).__name__}: {error}")
except Exception as error:  # what getmail would report as a configuration problem
    fail(f"{type(error).__name__}: {error}")
out.write(json.dumps({"retriever": retriever_type,
                  "protocol": "imap" if "IMAP" in retriever_type else "pop3",
                  "delete": config["delete"], "delete_after": config["delete_after"],
                  "delete_bigger_than": config["delete_bigger_than"]}) + "\n")
