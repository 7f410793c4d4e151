"""``${...}`` expressions: values people expect, errors at the right column, nothing of Python leaks."""

from __future__ import annotations

import random

import pytest

from sgscript.scenario.expr import (
    ExprError,
    Function,
    Namespace,
    compile_expr,
    condition,
    is_expression,
    resolve,
    template,
)
from sgscript.scsi.errors import UsageError

VARS = {"lba": 100, "n": 8, "name": "disk", "big": 2**40}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 ** 3 ** 2", 512),  # right-associative, as in Python
        ("-2 ** 2", -4),  # ** binds tighter than unary minus
        ("10 - 4 - 3", 3),  # left-associative
        ("lba + n * 2", 116),
        ("0x21", 33),
        ("1_000", 1000),
        ("big >> 32", 256),
        ("1 << 4 | 1", 17),  # shift before or
        ("0xF0 & 0x3C ^ 0x0F", 0x3F),
        ("~0 & 0xFF", 255),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("1 < 2 < 3", True),
        ("3 > 2 > 2", False),
        ("lba == 100 and n != 8", False),
        ("not 0", True),
        ("0 or n", 8),
        ("min(lba, n, 50)", 8),
        ("max(lba, 2 * n)", 100),
        ("abs(n - lba)", 92),
        ("name", "disk"),
        ("'x' + name", "xdisk"),
        ("  lba + 1  ", 101),  # spaces inside ${ } are fine
    ],
)
def test_values_and_precedence(text: str, value: object) -> None:
    got = compile_expr(text).evaluate(VARS)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("8 / 2", 4),  # exact: stays an integer (an LBA field takes it)
        ("lba / 4", 25),
        ("7 / 2", 3.5),  # inexact: a fraction (an integer field then refuses it)
        ("7 // 2", 3),
        ("-7 // 2", -4),  # floor, as Python
        ("7.0 / 2", 3.5),
    ],
)
def test_division(text: str, value: float) -> None:
    got = compile_expr(text).evaluate(VARS)
    assert got == value and type(got) is type(value)


def test_names_are_the_variables_read() -> None:
    assert compile_expr("lba + n * min(lba, 3)").names == {"lba", "n"}
    assert compile_expr("1 + 2").constant
    assert not compile_expr("lba").constant


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("lba +", "incomplete expression", 6),
        ("1 +* 2", "unexpected '*'", 4),
        ("lba 2", "unexpected '2'", 5),
        ("(1", "never closed", 1),
        ("", "empty expression", 1),
        ("lba.__class__", "'.__class__' is not allowed", 4),
        ("x[1:2]", "slices", 3),
        ("__import__('os')", "calling '__import__' is not allowed", 1),
        ("open('/etc/passwd')", "calling 'open' is not allowed", 1),
        ("eval('1')", "calling 'eval' is not allowed", 1),
        ("min.__self__", "'.__self__' is not allowed", 4),
        ("device.supports.__call__", "'.__call__' is not allowed", 16),
        ("(lambda: 1)()", "calling this is not allowed", 2),
        ("lambda: 1", "lambda", 1),
        ("1 if n else 2", "if ... else", 1),
        ("[n for n in x]", "comprehensions", 1),
        ("[*x]", "'*'", 1),
        ("x := 1", "unexpected", 3),
        ("min(x=1)", "plain arguments", 1),
        ("abs(1, 2)", "needs one", 1),
        ("f'{n}'", "f-strings", 1),
        ("None", "None", 1),
    ],
)
def test_refused_with_the_column(text: str, message: str, column: int) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(text)
    assert message in info.value.message
    assert info.value.column == column
    assert isinstance(info.value, UsageError)  # exit 2, never a traceback


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("lba + nope", "undefined variable 'nope'", 7),
        ("1 / (n - 8)", "division by zero", 3),
        ("lba // 0", "division by zero", 5),
        ("name - 1", "cannot apply '-' to text and a number", 6),
        ("-name", "cannot apply '-' to text", 1),
        ("2 ** 100000", "number too large", 3),
        ("1 << 100000", "number too large", 3),
        ("big ** big", "number too large", 5),
        ("min(name, 1)", "cannot apply min()", 1),
    ],
)
def test_evaluation_errors_with_the_column(text: str, message: str, column: int) -> None:
    expr = compile_expr(text)
    with pytest.raises(ExprError) as info:
        expr.evaluate(VARS)
    assert message in info.value.message
    assert info.value.column == column


def test_bounds_keep_hostile_input_cheap() -> None:
    with pytest.raises(ExprError, match="longer than"):
        compile_expr("1+" * 5000 + "1")
    with pytest.raises(ExprError):
        compile_expr("(" * 500 + "1" + ")" * 500)
    product = "*".join(["big"] * 200)  # 8000 bits: past the bound, refused while computing
    with pytest.raises(ExprError, match="too large"):
        compile_expr(product).evaluate(VARS)


def test_no_builtin_is_reachable_by_name() -> None:
    for name in ("__builtins__", "print", "globals", "__import__", "open"):
        with pytest.raises(ExprError, match="undefined variable"):
            compile_expr(name).evaluate({})


# ----------------------------------------------------------------- templates


def test_whole_expression_keeps_its_type_and_text_interpolates() -> None:
    assert resolve("${lba + 1}", VARS) == 101
    assert resolve("  ${lba}  ", VARS) == 100  # a whole expression with spaces around
    assert resolve("lba ${lba} of ${name}", VARS) == "lba 100 of disk"
    assert resolve("${n}${n}", VARS) == "88"  # two expressions: text
    assert resolve("costs $$5 at ${n}", VARS) == "costs $5 at 8"
    assert resolve("no dollars", VARS) == "no dollars"
    assert resolve(42, VARS) == 42
    assert resolve([1, "${n}"], VARS) == [1, 8]
    assert resolve({"a": "${n * 2}"}, VARS) == {"a": 16}
    assert is_expression("${x}") and is_expression(" ${x + 1} ")
    assert not is_expression("a ${x}") and not is_expression(5)


def test_template_errors_point_into_the_whole_string() -> None:
    with pytest.raises(ExprError) as info:
        template("lba ${lba +* 1}")
    assert info.value.column == 12  # the '*', counted in the whole string
    with pytest.raises(ExprError) as info:
        resolve("at ${ nope }", VARS)
    assert info.value.message == "undefined variable 'nope'" and info.value.column == 7
    with pytest.raises(ExprError, match="without its closing"):
        template("a ${lba")


def test_random_is_seeded_and_bounded() -> None:
    value = {"random": [10, "${lba}"]}
    first = [resolve(value, VARS, random.Random(7)) for _ in range(50)]
    again = [resolve(value, VARS, random.Random(7)) for _ in range(50)]
    assert first == again
    draws = [resolve(value, VARS, rng) for rng in [random.Random(3)] for _ in range(500)]
    assert min(draws) >= 10 and max(draws) <= 100 and len(set(draws)) > 50
    assert resolve({"random": [5, 5]}, VARS, random.Random(1)) == 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"random": [10, 5]}, "empty"),
        ({"random": [0, "${name}"]}, "integers"),
        ({"random": [0]}, "needs \\[lo, hi\\]"),
    ],
)
def test_random_errors(value: object, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        resolve(value, VARS, random.Random(0))


def test_random_without_a_generator_is_an_error() -> None:
    with pytest.raises(ExprError, match="random generator"):
        resolve({"random": [0, 1]}, VARS)


# ---------------------------------------------------------------- conditions


def _facts() -> Namespace:
    return Namespace(
        "device a",
        {
            "lbpme": 1,
            "vpd_pages": (0x00, 0x80, 0x83, 0xB0),
            "supports": Function("supports", lambda name: name == "Read16"),
        },
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("device.lbpme == 1", True),
        ("${0xB2 in device.vpd_pages}", False),
        ("0xB0 in device.vpd_pages and device.lbpme", 1),
        ("0xB2 not in device.vpd_pages", True),
        ("device.supports('Read16')", True),
        ("not device.supports('CompareAndWrite')", True),
        ("saved[1]", 20),
        ("saved[-1]", 30),
        ("len(saved)", 3),
        ("page['wce']", 1),
        ("status in [0, 8]", True),
        ("status in (2,)", False),
        ("'SEAG' in vendor", True),
    ],
)
def test_conditions_read_facts_lists_and_membership(text: str, value: object) -> None:
    env = {
        "device": _facts(),
        "saved": [10, 20, 30],
        "page": {"wce": 1},
        "status": 8,
        "vendor": "SEAGATE",
    }
    assert condition(text).evaluate(env) == value


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("device.lbpm", "device a has no 'lbpm' (did you mean 'lbpme'?)", 8),
        ("saved[3]", "index 3 is out of range: it has 3 entries (0..2)", 6),
        ("page['wec']", "has no 'wec' (did you mean 'wce'?)", 5),
        ("status.x", "'.' reaches facts and response fields (device.lbpme), not into a number", 7),
        ("status in 3", "'in' needs a list or text on its right, got a number", 1),
        ("device.lbpme(1)", "'lbpme' is a fact, not a function", 1),
        ("device.supports()", "supports() takes 1 argument(s)", 1),
        ("len(1)", "cannot apply len() to a number", 1),
    ],
)
def test_condition_mistakes_name_what_exists(text: str, message: str, column: int) -> None:
    env = {"device": _facts(), "saved": [10, 20, 30], "page": {"wce": 1}, "status": 8}
    with pytest.raises(ExprError) as info:
        condition(text).evaluate(env)
    assert message in info.value.message
    assert info.value.column == column


def test_python_stays_out_of_reach_through_namespaces() -> None:
    env = {"device": _facts()}
    for text in ("device.__dict__", "device._values", "device.supports.fn", "len.__self__"):
        with pytest.raises(ExprError):
            condition(text).evaluate(env)
