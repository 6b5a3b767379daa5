"""Build the demo's sandbox: a home tree, a repository folder, a laptop folder, a config.

Everything lives under one temp folder; the generated configuration points only there.
Contents are deterministic (seeded) so two runs transfer the same bytes.
"""

import os
import random
from dataclasses import dataclass
from pathlib import Path

WORDS = ("trip", "train", "hotel", "meeting", "invoice", "draft", "photos", "agenda", "review", "patch",
         "deploy", "lunch", "report", "budget", "ticket", "slides", "notes", "backup", "mail", "server")


@dataclass(frozen=True)
class Sandbox:
    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home" / "marc"

    @property
    def repository(self) -> Path:
        return self.root / "repository"

    @property
    def laptop(self) -> Path:
        return self.root / "laptop"

    @property
    def config_file(self) -> Path:
        return self.root / "config" / "travelsync.yaml"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def laptop_copy(self, relative: str) -> Path:
        """Where the laptop holds home's `relative` (inside home)."""
        return self.laptop / self.home.relative_to("/") / relative


def _text(rng: random.Random, size: int) -> str:
    words = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size] + "\n"


def write_mail(folder: Path, rng: random.Random, number: int, stamp: int, sub: str = "new") -> Path:
    """One Maildir message (`new/` until a client reads it)."""
    name = f"{stamp}.M{number}P{4000 + number}.demo"
    body = _text(rng, rng.randint(1500, 9000))
    path = folder / sub / name
    path.write_text(f"From: friend{number % 7}@example.org\nTo: marc@example.org\n"
                    f"Subject: {rng.choice(WORDS)} {number}\n\n{body}")
    return path


def build(root: Path, files: int, seed: int = 7) -> Sandbox:
    """Create the sandbox with about `files` files in home; return it."""
    rng = random.Random(seed)
    box = Sandbox(root)
    mail = box.home / "Mail"
    for sub in ("cur", "new", "tmp"):
        (mail / sub).mkdir(parents=True, exist_ok=True)
    mails, code = int(files * 0.6), int(files * 0.3)
    notes = max(1, files - mails - code - 1)
    for number in range(mails):
        write_mail(mail, rng, number, 1700000000 + number, sub="cur")
    for number in range(code):
        folder = box.home / "src" / f"project{number % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"module{number}.py").write_text(f'"""Module {number}."""\n\n' + "".join(
            f"def {rng.choice(WORDS)}_{n}():\n    return {rng.randint(0, 9999)}\n\n" for n in range(rng.randint(5, 60))))
    (box.home / "notes").mkdir(parents=True, exist_ok=True)
    for number in range(notes):
        (box.home / "notes" / f"note{number}.md").write_text(f"# {rng.choice(WORDS)}\n\n{_text(rng, rng.randint(200, 4000))}")
    (box.home / ".cache").mkdir(exist_ok=True)
    (box.home / ".cache" / "thumbnails.bin").write_bytes(os.urandom(64 * 1024))  # excluded from backups
    rc = box.home / ".fetchmailrc"
    rc.write_text("# fetchmail: home's mail client, deletes mail on the server after download\n"
                  "poll pop.example.org protocol pop3\n"
                  "    user marc password not-a-real-password mda \"/usr/bin/procmail -d marc\"\n")
    rc.chmod(0o600)
    for folder in (box.repository, box.laptop, box.state, box.config_file.parent):
        folder.mkdir(parents=True, exist_ok=True)
    box.config_file.write_text(config_text(box))
    return box


def config_text(box: Sandbox) -> str:
    """The sandbox's configuration: embedded defaults plus the sandbox's places."""
    return (f"# travelsync demo sandbox: every path below is inside {box.root}\n"
            f"repository: {box.repository}\n"
            "sources:\n"
            f"  - name: home\n    path: {box.home}\n    exclude: ['.cache/', '*.tmp']\n"
            "laptop:\n  host: local\n"
            f"  root: {box.laptop}\n"
            "  paths: [home/Mail, home/src, home/notes, home/.fetchmailrc]\n"
            "mailer:\n  - kind: fetchmail\n"
            f"    file: {box.home / '.fetchmailrc'}\n"
            "rsync:\n  retries: 0\n")
