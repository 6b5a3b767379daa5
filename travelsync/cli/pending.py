"""Commands whose implementation has not landed: they say so and exit 2, never pretend."""

import click

from travelsync.errors import NotYetAvailable


def pending(name: str, help_text: str, issue: int) -> click.Command:
    @click.command(name, help=f"{help_text}\n\nNot available yet (issue #{issue}).",
                   context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def command():
        raise NotYetAvailable(f"`{name}` is not available in this version yet (issue #{issue})")

    return command
