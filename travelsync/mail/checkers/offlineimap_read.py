# Run by travelsync with OfflineIMAP's own interpreter: python3 -c <this> offlineimap RCFILE
# Reads RCFILE with OfflineIMAP's own CustomConfigParser and prints, per account, the type,
# sync_deletes, expunge and readonly of its local and remote repository as OfflineIMAP's
# getdefaultboolean reads them (JSON).  It loads no `pythonfile`, evaluates no `*eval`
# setting, connects nowhere.  Exit 0 and JSON; 1 and one line on stderr when OfflineIMAP
# would refuse the file; 127 when OfflineIMAP is not installed.
import json
import os
import shutil
import sys

program, path = sys.argv[1], sys.argv[2]
found = shutil.which(program)
if not found:
    sys.exit(127)
sys.path.insert(0, os.path.dirname(os.path.realpath(found)))
try:
    from offlineimap.CustomConfig import CustomConfigParser
except ImportError as error:
    sys.stderr.write(f"offlineimap's own modules cannot be loaded: {error}\n")
    sys.exit(127)


def fail(message):
    sys.stderr.write(str(message).replace("\n", " ") + "\n")
    sys.exit(1)


config = CustomConfigParser()
try:
    with open(path) as handle:
        config.read_file(handle, path)
    read = {}
    for section in config.sections():
        if not section.startswith("Account "):
            continue
        account = section[len("Account "):]
        read[account] = {}
        for side in ("local", "remote"):
            name = "Repository " + config.get(section, side + "repository")
            read[account][side] = {
                "type": config.get(name, "type").strip(),
                "sync_deletes": config.getdefaultboolean(name, "sync_deletes", True),
                "expunge": config.getdefaultboolean(name, "expunge", True),
                "readonly": config.getdefaultboolean(name, "readonly", False),
            }
except Exception as error:  # configparser's errors, a bad boolean: what offlineimap would stop on
    fail(f"{type(error).__name__}: {error}")
print(json.dumps(read))
