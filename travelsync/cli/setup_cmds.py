"""`init` and `config check`: getting a valid configuration in place."""

import click

from travelsync.errors import UsageError


@click.command()
@click.option("--path", "target", metavar="FILE", help="Where to write it (default: the configuration path).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_obj
def init(app, target, force):
    """Write a commented starter configuration.

    The file is the complete example from config/travelsync.example.yaml: every key, with
    its default and a comment. Edit `repository`, `sources` and `laptop`, then run
    `travelsync config check`.
    """
    from pathlib import Path

    from travelsync.atomic import atomic_write
    from travelsync.resources import example_config

    path = Path(target) if target else app.config_path
    if path.exists() and not force:
        raise UsageError(f"{path}: already exists; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, example_config(), mode=0o600)
    app.emit({"written": str(path)}, lambda d: None)
    app.info(f"wrote {path}\nnext: edit it, then run: travelsync --config {path} config check")


@click.group()
def config():
    """Inspect the configuration."""


@config.command("check")
@click.pass_obj
def check(app):
    """Validate the configuration and print it resolved (secrets masked).

    Every problem is reported at once, each with file, line and column, the key, what was
    expected and what was found. Exit 0 when valid, 2 otherwise.
    """
    import yaml

    from travelsync.config.load import resolved

    data = resolved(app.config)
    app.emit(data, lambda d: yaml.safe_dump(d, sort_keys=False, allow_unicode=True).rstrip())
    for source in app.config.sources:
        for entry in source.left_out:
            app.info(f"source {source.name}: {entry.what} {entry.path} is inside it; every backup leaves it out "
                     f"(rsync --exclude={entry.rule})")
    app.info(f"{app.config_path}: valid")
