"""An off-site copy opened as a Repository (the same format, the same stores), and the
off-site settings looked up by name."""

from dataclasses import replace

from travelsync.errors import UsageError

MARK_KEY = "offsite_encryption"  # in the copy's travelsync.repo: none | gocryptfs


def copy_config(config, copy):
    """The configuration with the copy in place of the repository: what `verify`, `restore`
    and the stores need (ssh, rsync settings) stays the same."""
    return replace(config, repository=copy.repository)


def open_copy(config, copy, environ=None):
    """The copy as a Repository (local or over ssh). Opening touches nothing."""
    from travelsync.repository import open_repository

    return open_repository(copy_config(config, copy), environ)


def chosen(config, name: str | None):
    """The copies a command works on: the one named (UsageError, exit 2, for an unknown name),
    or every configured copy. UsageError when none is configured."""
    if not config.offsite:
        raise UsageError("no off-site copy is configured", hint="add an `offsite:` entry (docs/offsite.md)")
    if name is None:
        return list(config.offsite)
    for copy in config.offsite:
        if copy.name == name:
            return [copy]
    import difflib

    names = [c.name for c in config.offsite]
    close = difflib.get_close_matches(name, names, n=1)
    raise UsageError(f"no off-site copy named {name!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
                     hint=f"configured: {', '.join(names)}")


def repo_file_text(created, source_host: str, encryption: str) -> str:
    """travelsync.repo of a copy: format 1 (travelsync reads it as any repository) plus what
    makes it a copy, and whether its snapshots hold ciphertext."""
    from travelsync.repository import layout

    return (layout.repo_file_text(created, source_host).replace("# travelsync repository", "# travelsync off-site copy")
            + f"{MARK_KEY}: {encryption}\n")


def encryption_of(repository) -> str | None:
    """What the copy's travelsync.repo says (none | gocryptfs); None: no repository file yet;
    "": a repository that is not an off-site copy (no such key: a main repository)."""
    from travelsync.repository import layout

    text = repository.overview().repo_file
    if text is None:
        return None
    value = layout.check_repo_file(text.decode("utf-8", "replace"), str(repository.location)).get(MARK_KEY)
    return str(value) if value else ""
