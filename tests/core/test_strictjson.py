"""The one strict JSON reader: RFC 8259 texts read as Python's json module reads them; the rest refused with
a reason a caller can act on."""

from __future__ import annotations

from typing import Any

import pytest

from qjob_tui import strictjson


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


ACCEPTED: dict[str, tuple[bytes, Any]] = {
    "an object": (
        b'{"image_tag": "v2", "n": [1, 2.5, null, true]}',
        {"image_tag": "v2", "n": [1, 2.5, None, True]},
    ),
    "a surrogate pair": (b'"\\ud83d\\ude00"', "\U0001f600"),
    "UTF-8 text": ('{"name": "caf\u00e9"}'.encode(), {"name": "caf\u00e9"}),
    "nesting at the bound": (b"[" * 64 + b"1" + b"]" * 64, _nested(64)),
    "an escaped backslash before u": (b'"\\\\ud800"', "\\ud800"),
    "brackets inside strings": (
        b'{"a": "' + b"[" * 100 + b'", "b": "\\"{{{"}',
        {"a": "[" * 100, "b": '"{{{'},
    ),
    "a large integer": (b"123456789012345678901234567890", 123456789012345678901234567890),
}

REFUSED: dict[str, tuple[bytes, str]] = {
    "NaN": (b"[NaN]", "NaN is not JSON"),
    "Infinity": (b'{"a": Infinity}', "Infinity is not JSON"),
    "-Infinity": (b"-Infinity", "-Infinity is not JSON"),
    "a float that overflows": (b"[1e400]", "the number 1e400 is too large for a float"),
    "a duplicate key": (b'{"a": 1, "b": 2, "a": 3}', "duplicate key 'a'"),
    "a duplicate key deep down": (b'{"x": [{"k": 1, "k": 1}]}', "duplicate key 'k'"),
    "a lone high surrogate": (b'["ok", "\\ud800"]', "lone surrogate (\\ud800)"),
    "a lone low surrogate in a key": (b'{"\\uDC01": 1}', "lone surrogate (\\udc01)"),
    "a surrogate pair the wrong way round": (b'"\\ude00\\ud83d"', "lone surrogate"),
    "nesting beyond the bound": (b"[" * 65 + b"]" * 65, "nested deeper than 64 levels"),
    "objects nested beyond the bound": (b'{"a": ' * 65 + b"1" + b"}" * 65, "nested deeper than 64 levels"),
    "nesting beyond the bound after a string of brackets": (
        b'["]]]]", ' + b"[" * 65 + b"]" * 66,
        "nested deeper than 64 levels",
    ),
    "nesting beyond Python's recursion": (b"[" * 100_000, "nested deeper than 64 levels"),
    "an encoded surrogate": (b'"\xed\xa0\x80"', "not UTF-8 (byte 1)"),
    "Latin-1 bytes": (b'"caf\xe9"', "not UTF-8 (byte 4)"),
    "a byte order mark": (b"\xef\xbb\xbf{}", "BOM"),
    "a text cut short": (b'{"a": "b', "Unterminated string"),
    "trailing text": (b"{} {}", "Extra data at line 1, column 4"),
    "an integer of 5,000 digits": (b"1" * 5000, "Exceeds the limit (4300 digits)"),
}


@pytest.mark.parametrize(("text", "value"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_strict_json_reads_what_rfc_8259_writes(text: bytes, value: Any) -> None:
    assert strictjson.loads(text) == value
    assert strictjson.loads(text.decode("utf-8")) == value


@pytest.mark.parametrize(("text", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_strict_json_refuses_the_rest_saying_why(text: bytes, says: str) -> None:
    with pytest.raises(strictjson.JSONRefused) as refused:
        strictjson.loads(text)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_what_is_written_reads_back_and_nan_is_not_written() -> None:
    value = {"image_tag": "v\u00e9", "list": [1, 2.5]}
    assert strictjson.loads(strictjson.dump_bytes(value)) == value
    assert strictjson.dump_bytes(value) == '{"image_tag":"v\u00e9","list":[1,2.5]}'.encode()
    with pytest.raises(ValueError):
        strictjson.dumps({"x": float("nan")})
