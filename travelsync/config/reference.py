"""Generate the configuration reference (Markdown) from the schema, so docs cannot drift."""

from travelsync.config.schema import SCHEMA, Field, ListOf, Mapping, Nullable


def _rows(mapping: Mapping, prefix: str):
    for field in mapping.fields.values():
        yield from _field_rows(field, prefix)


def _field_rows(field: Field, prefix: str):
    key = f"{prefix}{field.name}"
    kind = field.kind.inner if isinstance(field.kind, Nullable) else field.kind
    if isinstance(kind, Mapping):
        yield key, "mapping", "", field.doc
        yield from _rows(kind, key + ".")
    elif isinstance(kind, ListOf) and isinstance(kind.item, Mapping):
        yield key, "list of mappings", "required" if field.required else "[]", field.doc
        yield from _rows(kind.item, key + "[].")
    else:
        default = "required" if field.required else ("`null`" if field.default is None else f"`{_show(field.default)}`")
        yield key, field.kind.expected, default, field.doc


def _show(value):
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    if hasattr(value, "text"):
        return value.text
    if isinstance(value, bool):
        return str(value).lower()
    return value


def markdown() -> str:
    lines = ["| key | expected | default | meaning |", "|---|---|---|---|"]
    for key, expected, default, doc in _rows(SCHEMA, ""):
        lines.append(f"| `{key}` | {expected} | {default} | {doc} |")
    return "\n".join(lines) + "\n"
