"""The AsyncAPI document as an HTML page rendered here: tables, no script, nothing from another host.

FastStream's page loads the AsyncAPI React component from a CDN, so it is blank offline and trusts a
third party with the service's origin. This page shows the same document server-side: each channel
with its operations and messages (key, headers, payload, examples), then every payload schema.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from typing import Any

__all__ = ["PAGE_CONTENT_SECURITY_POLICY", "render_asyncapi_page"]

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 1rem 2rem; color: #1d232a; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 2px solid #d0d7de; margin-top: 2.5rem; }
h3 { margin: 2rem 0 .3rem; } h4 { margin: 1.2rem 0 .3rem; }
section.channel, section.schema { border-left: 4px solid #d0d7de; padding-left: 1rem; }
table { border-collapse: collapse; margin: .4rem 0 1rem; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f5f7; } td.name { white-space: nowrap; }
code { font: 13px ui-monospace, monospace; background: #f3f5f7; padding: 0 .2rem; }
pre { font: 13px ui-monospace, monospace; background: #f3f5f7; padding: .6rem; overflow-x: auto; }
.muted { color: #57606a; } .tag { font-size: 12px; border: 1px solid #57606a; border-radius: 3px; padding: 0 .3rem; }
"""
# The page needs nothing but its own inline style: the policy says so, naming the style by its hash.
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
PAGE_CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

_CONSTRAINTS = (
    ("minLength", "min length"), ("maxLength", "max length"), ("minimum", "minimum"),
    ("maximum", "maximum"), ("exclusiveMinimum", "greater than"), ("exclusiveMaximum", "less than"),
    ("minItems", "min items"), ("maxItems", "max items"), ("pattern", "pattern"), ("default", "default"),
)


def render_asyncapi_page(document: dict[str, Any]) -> str:
    """The whole page for an AsyncAPI 3.0 document."""
    info = document.get("info", {})
    title = f"{info.get('title', 'Events')}: events"
    channels = document.get("channels", {})
    schemas = document.get("components", {}).get("schemas", {})
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>",
        _paragraph(info.get("description")),
        f'<p class="muted">Version {escape(str(info.get("version", "")))} · AsyncAPI '
        f'{escape(str(document.get("asyncapi", "")))} · the document as '
        '<a href="asyncapi.json">JSON</a></p></header>',
        "<nav><h2>Contents</h2><ul>",
        *(f'<li><a href="#channel-{escape(key)}"><code>{escape(ch.get("address") or key)}</code></a>'
          f" {_actions(document, key)}</li>" for key, ch in channels.items()),
        '<li><a href="#schemas">Payload schemas</a></li></ul></nav>',
        _servers(document.get("servers", {})),
        "<h2>Channels</h2>",
        *(_channel(document, key, channel) for key, channel in channels.items()),
        '<h2 id="schemas">Payload schemas</h2>',
        *(_schema_section(name, schema) for name, schema in schemas.items()),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


def _paragraph(text: Any) -> str:
    return f"<p>{escape(str(text))}</p>" if text else ""


def _operations_on(document: dict[str, Any], channel_key: str) -> list[dict[str, Any]]:
    ref = f"#/channels/{channel_key}"
    return [op for op in document.get("operations", {}).values() if op.get("channel", {}).get("$ref") == ref]


def _actions(document: dict[str, Any], channel_key: str) -> str:
    verbs = {"send": "publishes", "receive": "consumes"}
    return " ".join(f'<span class="tag">{verbs.get(op.get("action"), escape(str(op.get("action"))))}</span>'
                    for op in _operations_on(document, channel_key))


def _servers(servers: dict[str, Any]) -> str:
    if not servers:
        return ""
    rows = "".join(f"<tr><td>{escape(name)}</td><td><code>{escape(str(s.get('host', '')))}</code></td>"
                   f"<td>{escape(str(s.get('protocol', '')))}</td><td>{escape(str(s.get('description', '')))}</td></tr>"
                   for name, s in servers.items())
    return ("<h2>Servers</h2><table><tr><th>name</th><th>host</th><th>protocol</th><th>description</th></tr>"
            f"{rows}</table>")


def _channel(document: dict[str, Any], key: str, channel: dict[str, Any]) -> str:
    messages = document.get("components", {}).get("messages", {})
    parts = [f'<section class="channel" id="channel-{escape(key)}">',
             f"<h3><code>{escape(channel.get('address') or key)}</code> {_actions(document, key)}</h3>",
             _paragraph(channel.get("description"))]
    for operation in _operations_on(document, key):
        group = operation.get("bindings", {}).get("kafka", {}).get("groupId", {}).get("const")
        if group:
            parts.append(f"<p>Consumed by the consumer group <code>{escape(str(group))}</code>.</p>")
    for entry in channel.get("messages", {}).values():
        message = messages.get(entry.get("$ref", "").rsplit("/", 1)[-1], entry)
        parts.append(_message(message))
    parts.append("</section>")
    return "\n".join(part for part in parts if part)


def _message(message: dict[str, Any]) -> str:
    parts = [f"<h4>Message {escape(str(message.get('name') or message.get('title') or ''))}</h4>",
             _paragraph(message.get("summary")), _paragraph(message.get("description"))]
    if message.get("contentType"):
        parts.append(f"<p>Content type <code>{escape(message['contentType'])}</code></p>")
    key = message.get("bindings", {}).get("kafka", {}).get("key")
    if key:
        parts.append(f"<p>Record key: {_type(key)}. {escape(str(key.get('description', '')))}</p>")
    headers = message.get("headers")
    if headers:
        parts += ["<p>Headers:</p>", _properties_table(headers)]
    if "payload" in message:
        parts.append(f"<p>Payload: {_type(message['payload'])}. "
                     f"{escape(str(message['payload'].get('description', '')))}</p>")
    for example in message.get("examples", []):
        record = {k: example[k] for k in ("headers", "payload") if k in example}
        parts.append(f"<details><summary>Example {escape(str(example.get('name', '')))}: "
                     f"{escape(str(example.get('summary', '')))}</summary>"
                     f"<pre>{escape(json.dumps(record, indent=2, ensure_ascii=False))}</pre></details>")
    return "\n".join(part for part in parts if part)


def _schema_section(name: str, schema: dict[str, Any]) -> str:
    parts = [f'<section class="schema" id="schema-{escape(name)}"><h3>{escape(name)}</h3>',
             _paragraph(schema.get("description"))]
    if "properties" in schema:
        parts.append(_properties_table(schema))
    else:
        parts.append(f"<p>{_type(schema)} {escape(_constraints(schema))}</p>")
    parts.append("</section>")
    return "\n".join(part for part in parts if part)


def _properties_table(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = [
        f'<tr><td class="name"><code>{escape(name)}</code></td><td>{_type(prop)}</td>'
        f"<td>{'yes' if name in required else 'no'}</td>"
        f"<td>{escape(str(prop.get('description', '')))} "
        f'<span class="muted">{escape(_constraints(prop))}</span></td></tr>'
        for name, prop in schema.get("properties", {}).items()
    ]
    if schema.get("additionalProperties") is True:
        rows.append('<tr><td class="name" colspan="4">Other entries may appear; readers ignore those '
                    "they do not know.</td></tr>")
    return ("<table><tr><th>name</th><th>type</th><th>required</th><th>description</th></tr>"
            f"{''.join(rows)}</table>")


def _type(schema: dict[str, Any]) -> str:
    """The type of a schema as HTML: a link for a reference, the values for a const or an enum."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    for keyword in ("anyOf", "oneOf", "allOf"):
        if keyword in schema:
            return (" and " if keyword == "allOf" else " or ").join(_type(s) for s in schema[keyword])
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const'], ensure_ascii=False))}</code>"
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{escape(json.dumps(v, ensure_ascii=False))}</code>"
                                     for v in schema["enum"])
    declared = schema.get("type")
    if isinstance(declared, list):
        return " or ".join(_type({**schema, "type": t}) for t in declared)
    if declared == "array":
        return f"array of {_type(schema.get('items', {}))}"
    text = escape(str(declared or "any"))
    return f"{text} ({escape(schema['format'])})" if "format" in schema else text


def _constraints(schema: dict[str, Any]) -> str:
    # A pattern reads best as written; other values as JSON, so a string default shows its quotes.
    found = [f"{label} {schema[key] if key == 'pattern' else json.dumps(schema[key], ensure_ascii=False)}"
             for key, label in _CONSTRAINTS if key in schema]
    if schema.get("uniqueItems"):
        found.append("unique items")
    items = schema.get("items")
    if isinstance(items, dict) and _constraints(items):
        found.append(f"each item: {_constraints(items)}")
    return "; ".join(found)
