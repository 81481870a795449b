"""JSON as RFC 8259 writes it, and nothing else: the one parser of every JSON text that comes in from outside.

REST and MCP bodies and Qovery's answers are all read with `loads`; what the relay sends out is written with
`dumps`. Python's `json` module is lenient where a relay must not be, because whatever it lets in is passed
on or written down:

- `NaN`, `Infinity` and numbers too large for a float (`1e999` reads as infinity) are not JSON; they were
  forwarded to Qovery and written into the audit log as bare `NaN`, which no JSON reader reads back;
- a key given twice is ambiguous (readers disagree on which one wins); it is refused, not "last one wins";
- a lone surrogate (`"\\ud800"`) is a string no UTF-8 encoder can write: it broke the answers it reached;
- bytes that are not UTF-8 are not JSON text (`json.loads` of bytes lets encoded surrogates through);
- nesting is bounded (`MAX_DEPTH`), far below where an encoder or a validator would hit Python's recursion
  limit on the way out.

Every refusal is a `JSONRefused` whose message says what is wrong in a few words, fit for a 400's detail.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
"""Arrays and objects within each other, at most. Qovery's answers and the actions' bodies need a handful."""

# A \u escape of a surrogate: the only way a lone surrogate gets into a string of a strictly UTF-8 text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONRefused(ValueError):
    """The text is not strict JSON; the message says why (`duplicate key 'a'`, `NaN is not JSON`...)."""


def loads(text: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of a strict JSON text; JSONRefused when it is not one."""
    if isinstance(text, bytes | bytearray | memoryview):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONRefused(f"not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(
            text, object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite_float
        )
    except JSONRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise JSONRefused(f"nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise JSONRefused(str(exc).split(";")[0]) from None
    # Each check costs only when it can find something: more open brackets than the depth allowed, or a
    # surrogate escape somewhere.
    if text.count("[") + text.count("{") > max_depth and _depth(value) > max_depth:
        raise JSONRefused(f"nested deeper than {max_depth} levels")
    if _SURROGATE_ESCAPE.search(text) is not None:
        _refuse_lone_surrogates(value)
    return value


def dumps(value: Any, *, indent: int | None = None) -> str:
    """`value` as a JSON text (compact unless `indent`); ValueError for what `loads` would refuse to read back."""
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(value, allow_nan=False, ensure_ascii=False, indent=indent, separators=separators)


def dump_bytes(value: Any) -> bytes:
    """`dumps` as UTF-8, for a request or response body."""
    return dumps(value).encode("utf-8")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONRefused(f"duplicate key {_shown(key)}")
            seen.add(key)
    return result


def _no_constant(name: str) -> Any:
    raise JSONRefused(f"{name} is not JSON (RFC 8259 has no {name})")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise JSONRefused(f"the number {literal[:20]} is too large for a float")
    return number


def _depth(value: Any) -> int:
    """How deep the arrays and objects of a value nest (containers only are visited, without recursion)."""
    if not isinstance(value, dict | list):
        return 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _refuse_lone_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _refuse_surrogate(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _refuse_surrogate(key)
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


def _refuse_surrogate(text: str) -> None:
    match = _SURROGATE.search(text)
    if match is not None:
        raise JSONRefused(f"a lone surrogate (\\u{ord(match.group()):04x}) in a string is not text")


def _shown(key: str) -> str:
    return repr(key if len(key) <= 40 else key[:40] + "...")
