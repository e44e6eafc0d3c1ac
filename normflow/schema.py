"""Turning plain TOML data into validated, frozen attrs objects.

The scenario classes (``normflow.scenario``) and plugin config sections are
attrs classes whose fields carry their constraints as metadata (a numeric
range, a set of choices, a documentation line). ``structure`` walks the data
against those classes and stops at the first problem with a
``ScenarioError`` naming the file, the field path (``local_governments.
groups[0].access``), the value found and what was expected.

Why not cattrs: its detailed validation reports paths, but range checks and
"did you mean" hints for unknown keys would still need this walker, and the
walker is short. Plugin authors use the same ``param`` helper for their own
sections, so their errors read exactly like the core's.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import stat
import types
import typing
from typing import Any, Literal

import attrs
import numpy as np

__all__ = [
    "ScenarioError",
    "Dist",
    "param",
    "structure",
    "defaults_of",
    "describe",
    "check_nesting",
    "MAX_NESTING",
    "MAX_MAGNITUDE",
]

#: How deeply arrays, inline tables and dotted keys may nest in a scenario or
#: spec. The bundled files nest at most 5 levels; the parser and every walker
#: over the data recurse once per level, so this bound keeps them far from
#: Python's recursion limit.
MAX_NESTING = 32

#: The largest magnitude a number in a scenario may have, and that the range of
#: a distribution may reach (a spread of 8 standard deviations around its
#: centre). Sums of a few million such values stay finite.
MAX_MAGNITUDE = 1e300


class ScenarioError(ValueError):
    """A scenario (or plugin section) that cannot be used, with where and why."""

    def __init__(
        self, path: str, value: Any, expected: str, file: str | None = None, *, reason: str | None = None
    ):
        self.path = path
        self.value = value
        self.expected = expected
        self.file = file
        #: a whole sentence saying what is wrong, shown instead of "got ...; expected ..."
        #: (a check across the fields of a section, which no single value fails)
        self.reason = reason
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = f"{self.file}: " if self.file else ""
        if self.reason:
            return f"{where}{self.path or '<top>'}: {self.reason}"
        shown = _show(self.value)
        return one_line(f"{where}{self.path or '<top>'}: got {shown}; expected {self.expected}")

    def with_file(self, file: str) -> ScenarioError:
        return ScenarioError(self.path, self.value, self.expected, file, reason=self.reason)


_MISSING = object()

#: The largest scenario or spec file read (bytes). The bundled scenarios are
#: under 20 kB; a world of a million actors is declared in a few lines.
MAX_FILE_BYTES = 4 * 1024 * 1024


def read_text_file(path: str | os.PathLike[str], what: str = "file") -> str:
    """The text of a regular UTF-8 file of at most ``MAX_FILE_BYTES``; anything
    else (a device such as /dev/zero, a pipe, a directory, a bigger file,
    undecodable bytes) is a ``ScenarioError`` naming the file."""
    name = str(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ScenarioError("", name, f"a readable {what} ({exc.strerror or exc})", file=name) from None
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError("", name, f"a regular {what} (not a directory, device or pipe)", file=name)
    if info.st_size > MAX_FILE_BYTES:
        raise ScenarioError(
            "", f"<{info.st_size} bytes>", f"a {what} of at most {MAX_FILE_BYTES} bytes", file=name
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError("", name, f"a readable {what} ({exc.strerror or exc})", file=name) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError("", f"<more than {MAX_FILE_BYTES} bytes>", f"a {what} of at most that", file=name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError("", name, f"a UTF-8 {what} ({exc})", file=name) from None


def parse_toml(text: str, file: str) -> dict[str, Any]:
    """Parse TOML text, refusing (with a ``ScenarioError``) text that is not
    TOML or nests deeper than ``MAX_NESTING``; the nesting of brackets is
    checked before parsing, the nesting of dotted keys after."""
    import tomllib

    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(
            "", f"<{len(text)} characters>", f"at most {MAX_FILE_BYTES} characters", file=file
        )
    check_nesting(text, file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", "<TOML>", f"valid TOML ({exc})", file=file) from None
    except (RecursionError, ValueError, MemoryError) as exc:  # e.g. an integer of 5000 digits
        raise ScenarioError(
            "", "<TOML>", f"valid TOML ({type(exc).__name__}: {str(exc)[:120]})", file=file
        ) from None
    if nesting_depth(data) > MAX_NESTING:
        raise ScenarioError(
            "",
            f"<more than {MAX_NESTING} levels of nested tables>",
            f"at most {MAX_NESTING} levels of nesting (dotted keys included)",
            file=file,
        )
    return data


def check_nesting(text: str, file: str) -> None:
    """Refuse text whose arrays and inline tables nest deeper than
    ``MAX_NESTING``, without parsing it (strings and comments are skipped)."""
    depth = 0
    i, n = 0, len(text)
    line = 1
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif ch in "\"'":
            triple = text.startswith(ch * 3, i)
            quote = ch * 3 if triple else ch
            j = i + len(quote)
            while j < n:
                c = text[j]
                if c == "\\" and ch == '"':
                    j += 2
                    continue
                if text.startswith(quote, j):
                    break
                if c == "\n":
                    if not triple:
                        break
                    line += 1
                j += 1
            # a closing triple quote may be followed by one or two more quotes
            i = j + len(quote)
            continue
        elif ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise ScenarioError(
                    f"line {line}",
                    f"<more than {MAX_NESTING} nested brackets>",
                    f"at most {MAX_NESTING} levels of nested arrays and inline tables",
                    file=file,
                )
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1


def nesting_depth(data: Any) -> int:
    """How deeply tables and arrays nest in ``data`` (iteratively: no recursion)."""
    deepest = 0
    stack = [(data, 0)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, d + 1)
            if d + 1 <= MAX_NESTING:
                stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list | tuple):
            deepest = max(deepest, d + 1)
            if d + 1 <= MAX_NESTING:
                stack.extend((v, d + 1) for v in node)
    return deepest


def one_line(text: str) -> str:
    """``text`` with every line break and other control character written as
    its escape (a key such as ``"a\\nb"`` stays on one line)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing (the field is missing)"
    text = repr(value)
    # a long value keeps both ends: a path's file name is at its end
    return text if len(text) <= 80 else text[:38] + "..." + text[-39:]


def param(
    default: Any = attrs.NOTHING,
    *,
    low: float | None = None,
    high: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    doc: str = "",
    factory: Any = None,
    validator: Any = None,
    expected: str | None = None,
) -> Any:
    """An attrs field with a range, a documentation line and an optional check.

    ``low``/``high`` are inclusive bounds, ``gt``/``lt`` exclusive ones (give
    at most one of each pair), checked by ``structure`` for numbers and for
    every value a ``Dist`` can produce. A value out of range is reported as
    ``got 0; expected a number in (0, 1]``.

    ``validator(value)`` checks what a range cannot say. It returns False (or
    raises ``ValueError``) for a bad value; the error then reads
    ``<path>: got <value>; expected <expected>``, so write ``expected`` (or
    the ``ValueError``'s message) as the end of that sentence: "an odd
    number", "a multiple of 7 days".
    """
    if low is not None and gt is not None:
        raise TypeError("param: give low (inclusive) or gt (exclusive), not both")
    if high is not None and lt is not None:
        raise TypeError("param: give high (inclusive) or lt (exclusive), not both")
    if validator is not None and not callable(validator):
        raise TypeError(f"param: validator {validator!r} is not callable")
    meta = {
        "low": gt if gt is not None else low,
        "high": lt if lt is not None else high,
        "low_open": gt is not None,
        "high_open": lt is not None,
        "doc": doc,
        "validator": validator,
        "expected": expected,
    }
    if factory is not None:
        return attrs.field(factory=factory, metadata=meta)
    return attrs.field(default=default, metadata=meta)


@attrs.frozen(slots=True)
class Dist:
    """A value given either as a number or as a distribution to sample from.

    TOML forms: ``0.4``; ``{dist = "uniform", low = 0.1, high = 0.5}``;
    ``{dist = "beta", mean = 0.3, concentration = 10}``;
    ``{dist = "lognormal", median = 12000, sigma = 1.2}``;
    ``{dist = "normal", mean = 0.5, sd = 0.1}``. Samples are clipped to the
    field's range.
    """

    kind: str
    a: float
    b: float = 0.0

    def sample(self, rng: np.random.Generator, n: int, low: float | None, high: float | None):
        if self.kind == "fixed":
            out = np.full(n, self.a, dtype=float)
        elif self.kind == "uniform":
            out = rng.uniform(self.a, self.b, n)
        elif self.kind == "beta":
            mean, conc = self.a, self.b
            out = rng.beta(mean * conc, (1 - mean) * conc, n)
        elif self.kind == "lognormal":
            out = rng.lognormal(np.log(self.a), self.b, n)
        else:  # normal
            out = rng.normal(self.a, self.b, n)
        if low is not None or high is not None:
            out = np.clip(out, low, high)
        return out

    @property
    def mean(self) -> float:
        if self.kind in ("fixed", "beta", "normal"):
            return self.a
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        return float(self.a * np.exp(self.b**2 / 2))


_DIST_PARAMS = {
    "uniform": ("low", "high"),
    "beta": ("mean", "concentration"),
    "lognormal": ("median", "sigma"),
    "normal": ("mean", "sd"),
}


def _structure_dist(data: Any, path: str, low: float | None, high: float | None, meta: Any = None) -> Dist:
    if _is_number(data):
        _check_range(float(data), path, low, high, meta)
        return Dist("fixed", float(data))
    if isinstance(data, int | float) and not isinstance(data, bool):
        raise ScenarioError(path, data, _number_text(data))
    if not isinstance(data, dict):
        raise ScenarioError(path, data, 'a number or a table like {dist = "uniform", ...}')
    kind = data.get("dist", _MISSING)
    if not isinstance(kind, str) or kind not in _DIST_PARAMS:
        raise ScenarioError(f"{path}.dist", kind, f"one of {sorted(_DIST_PARAMS)}")
    names = _DIST_PARAMS[kind]
    extra = set(data) - {"dist", *names}
    if extra:
        key = sorted(extra)[0]
        raise ScenarioError(f"{path}.{key}", data[key], f"only the keys {list(names)} for {kind}")
    vals = []
    for name in names:
        v = data.get(name, _MISSING)
        if not _is_number(v):
            raise ScenarioError(f"{path}.{name}", v, _number_text(v))
        vals.append(float(v))
    a, b = vals
    if kind == "uniform":
        if a > b:
            raise ScenarioError(f"{path}.high", b, f"a number >= low ({a})")
        _check_range(a, f"{path}.low", low, high, meta)
        _check_range(b, f"{path}.high", low, high, meta)
        if b - a > MAX_MAGNITUDE:
            raise ScenarioError(f"{path}.high", b, f"a width high - low of at most {MAX_MAGNITUDE:g}")
    elif kind == "beta":
        if not 0 < a < 1:
            raise ScenarioError(f"{path}.mean", a, "a number strictly between 0 and 1")
        if b <= 0:
            raise ScenarioError(f"{path}.concentration", b, "a number > 0")
    elif kind == "lognormal":
        if a <= 0:
            raise ScenarioError(f"{path}.median", a, "a number > 0")
        if b < 0:
            raise ScenarioError(f"{path}.sigma", b, "a number >= 0")
        # samples reach median * exp(8 sigma): that must stay a finite number
        if math.log(a) + 8 * b > _LOG_MAX or math.log(a) + b * b / 2 > _LOG_MAX:
            raise ScenarioError(
                f"{path}.sigma",
                b,
                f"a spread whose samples and mean stay finite: log(median) + max(8 sigma, sigma**2 / 2) <= {_LOG_MAX:.0f}",
            )
    else:
        _check_range(a, f"{path}.mean", low, high, meta)
        if b < 0:
            raise ScenarioError(f"{path}.sd", b, "a number >= 0")
        if abs(a) + 8 * b > MAX_MAGNITUDE:
            raise ScenarioError(
                f"{path}.sd", b, f"a spread whose samples stay finite: |mean| + 8 sd <= {MAX_MAGNITUDE:g}"
            )
    return Dist(kind, a, b)


_LOG_MAX = math.log(MAX_MAGNITUDE)


def _is_number(v: Any) -> bool:
    """A finite number of at most ``MAX_MAGNITUDE`` (an integer with hundreds
    of digits is not: it cannot become a float)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and abs(v) <= MAX_MAGNITUDE


def _number_text(v: Any) -> str:
    if isinstance(v, int | float) and not isinstance(v, bool) and v == v:
        return f"a finite number of magnitude at most {MAX_MAGNITUDE:g}"
    return "a number"


def _check_range(v: float, path: str, low: float | None, high: float | None, meta: Any = None) -> None:
    low_open = bool(meta and meta.get("low_open"))
    high_open = bool(meta and meta.get("high_open"))
    below = low is not None and (v <= low if low_open else v < low)
    above = high is not None and (v >= high if high_open else v > high)
    if below or above:
        raise ScenarioError(path, v, _range_text(low, high, meta))


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def structure(cls: type, data: Any, path: str = "") -> Any:
    """Build an instance of attrs class ``cls`` from ``data``, checking every field."""
    if not isinstance(data, dict):
        raise ScenarioError(path, data, f"a table ({cls.__name__})")
    fields = {f.name: f for f in attrs.fields(cls)}
    for key in data:
        if key not in fields:
            import difflib  # only for a suggestion in an error message

            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ScenarioError(_join(path, key), data[key], f"one of the known keys {sorted(fields)}{hint}")
    hints = _hints(cls)
    kwargs = {}
    for name, f in fields.items():
        fpath = _join(path, name)
        if name not in data:
            if f.default is attrs.NOTHING:
                raise ScenarioError(fpath, _MISSING, f"a value for the required field '{name}'")
            continue
        if data[name] == "" and f.default == "":
            # a text field whose default is "" (a name, "none") takes "" written out
            kwargs[name] = ""
            continue
        kwargs[name] = _structure_value(hints[name], data[name], fpath, f.metadata)
        _run_validator(f.metadata, kwargs[name], fpath)
    try:
        return cls(**kwargs)
    except ScenarioError:
        raise
    except (TypeError, ValueError) as exc:
        # a check across fields: its message is a sentence of its own, not
        # the end of "expected ..."
        raise ScenarioError(path, data, str(exc), reason=_sentence(exc)) from None


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[0].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text


def _run_validator(meta: Any, value: Any, path: str) -> None:
    check = meta.get("validator")
    if check is None:
        return
    try:
        ok = check(value)
    except ValueError as exc:
        raise ScenarioError(path, value, str(exc) or meta.get("expected") or "a valid value") from None
    if ok is False:
        raise ScenarioError(
            path, value, meta.get("expected") or f"a value that {_callable_name(check)} accepts"
        )


def _callable_name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or repr(fn)


def _structure_value(tp: Any, value: Any, path: str, meta: Any) -> Any:
    low, high = meta.get("low"), meta.get("high")
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if value is None or (isinstance(value, str) and value == "" and type(None) in args):
            return None
        return _structure_value(non_none[0], value, path, meta)
    if tp is Any:
        return value
    if origin is Literal:
        if value not in args:
            raise ScenarioError(path, value, f"one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ScenarioError(path, value, "a list")
        inner = args[0]
        return tuple(_structure_value(inner, v, f"{path}[{i}]", meta) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ScenarioError(path, value, "a table")
        return dict(value)
    if tp is Dist:
        return _structure_dist(value, path, low, high, meta)
    if tp is bool:
        if not isinstance(value, bool):
            raise ScenarioError(path, value, "true or false")
        return value
    if tp is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ScenarioError(path, value, "a whole number")
        if abs(value) > _MAX_INT:
            raise ScenarioError(path, value, f"a whole number of magnitude at most {_MAX_INT} (2**53)")
        _check_range(value, path, low, high, meta)
        return value
    if tp is float:
        if not _is_number(value):
            big = isinstance(value, int | float) and not isinstance(value, bool) and value == value
            raise ScenarioError(path, value, _number_text(value) if big else _range_text(low, high, meta))
        _check_range(float(value), path, low, high, meta)
        return float(value)
    if tp is str:
        if not isinstance(value, str) or not value:
            raise ScenarioError(path, value, "a non-empty string")
        return value
    if tp is dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ScenarioError(path, value, "a date such as 1998-10-07")
    if attrs.has(tp):
        return structure(tp, value, path)
    raise TypeError(f"schema type {tp!r} at {path} is not supported")  # pragma: no cover


_MAX_INT = 2**53


def _range_text(low: float | None, high: float | None, meta: Any = None) -> str:
    if low is None and high is None:
        return "a number"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    left = "(" if meta and meta.get("low_open") else "["
    right = ")" if meta and meta.get("high_open") else "]"
    return f"a number in {left}{lo}, {hi}{right}"


def defaults_of(cls: type) -> Any:
    """An instance of ``cls`` built from its defaults alone."""
    return cls()


def describe(cls: type) -> list[dict[str, Any]]:
    """One row per field: name, type, default, range and documentation.

    Used to generate the scenario reference and ``normflow plugins`` output.
    """
    rows = []
    hints = _hints(cls)
    for f in attrs.fields(cls):
        default = f.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if default is attrs.NOTHING:
            default = None
        rows.append(
            {
                "name": f.name,
                "type": getattr(hints[f.name], "__name__", str(hints[f.name])),
                "default": default,
                "low": f.metadata.get("low"),
                "high": f.metadata.get("high"),
                "low_open": bool(f.metadata.get("low_open")),
                "high_open": bool(f.metadata.get("high_open")),
                "doc": f.metadata.get("doc", ""),
            }
        )
    return rows
