"""Validate the format of a CertLogic expression before it is evaluated.

The checks and messages are those of the reference validator (``format-validator.ts``); each
issue also carries a stable code and the path of the offending sub-expression from the root.

>>> issues = validate({"and": [{"var": "x"}, {"plusTime": ["2021", 1.5, "day"]}]})
>>> [(str(i.code), i.pointer) for i in issues]
[('CERTLOGIC_PLUSTIME_AMOUNT', '/and/1')]
>>> validate({"var": "payload.v.0.mp"})
[]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from healthcode.core.certlogic.dates import TIME_UNITS
from healthcode.core.certlogic.values import is_int, js_str
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import CertLogicError

__all__ = ["INFIX_OPERATORS", "MAX_DEPTH", "OPERATORS", "ValidationIssue", "check", "validate"]

#: Comparisons that take 2 operands, or 3 for "between".
COMPARISONS: Final = frozenset({"<", ">", "<=", ">=", "after", "before", "not-after", "not-before"})
INFIX_OPERATORS: Final = frozenset({"===", "and", "in", "+"}) | COMPARISONS
OPERATORS: Final = INFIX_OPERATORS | {
    "var",
    "if",
    "!",
    "plusTime",
    "reduce",
    "extractFromUVCI",
    "dccDateOfBirth",
}
#: Deeper expressions are refused: evaluation recurses once per level, and no real rule
#: comes close (the deepest EU rules nest about 10 levels).
MAX_DEPTH: Final = 200

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found in an expression: a stable ``code``, the reference ``message``, the
    ``path`` (keys and indices from the root) and the offending sub-expression ``expr``."""

    code: ErrorCode
    message: str
    path: Path
    expr: Any = field(compare=False)

    @property
    def pointer(self) -> str:
        """The path as a JSON Pointer (RFC 6901), ``""`` for the root."""
        return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in self.path)

    def to_error(self) -> CertLogicError:
        """This issue as the error that :func:`check` raises."""
        return CertLogicError(self.code, self.message, path=self.pointer)


class _Validator:
    def __init__(self) -> None:
        self.issues: list[ValidationIssue] = []

    def add(self, code: ErrorCode, message: str, path: Path, expr: Any) -> None:
        self.issues.append(ValidationIssue(code, message, path, expr))

    def walk(self, expr: Any, path: Path) -> None:
        t = type(expr)
        if t is str or t is bool or t is int:
            return
        if t is float:
            if not expr.is_integer():
                self.add(
                    ErrorCode.CERTLOGIC_NON_INTEGER, f"{expr} is a non-integer number", path, expr
                )
            return
        if len(path) > MAX_DEPTH:
            self.add(
                ErrorCode.CERTLOGIC_TOO_DEEP, f"nested deeper than {MAX_DEPTH} levels", path, expr
            )
            return
        if t is list:
            for i, item in enumerate(expr):
                self.walk(item, (*path, i))
            return
        if t is not dict:
            self.add(
                ErrorCode.CERTLOGIC_INVALID_EXPRESSION, "invalid CertLogic expression", path, expr
            )
            return
        if len(expr) != 1:
            self.add(
                ErrorCode.CERTLOGIC_OBJECT_KEYS,
                f"expression object must have exactly one key, but it has {len(expr)}",
                path,
                expr,
            )
            return
        ((op, values),) = expr.items()
        if op == "var":
            self.var(expr, values, path)
        elif type(values) is not list:
            self.add(
                ErrorCode.CERTLOGIC_OPERATION_FORM,
                'operation not of the form { "<operator>": [ <values...> ] }',
                path,
                expr,
            )
        else:
            self.operation(expr, op, values, path)

    def operation(self, expr: Any, op: str, values: list[Any], path: Path) -> None:
        at: Path = (*path, op)
        n = len(values)
        if op in INFIX_OPERATORS:
            self.infix(expr, op, values, path, at)
        elif op == "!":
            if n == 1:
                self.walk(values[0], (*at, 0))
            else:
                what = "a !-operation (logical not/negation)"
                self.arity(False, what, "exactly 1 operand", n, path, expr)
        elif op in _FIXED_ARITY:
            what, must, count, walked = _FIXED_ARITY[op]
            self.arity(n == count, what, must, n, path, expr)
            self.operands(values[:walked], at)
            if op == "plusTime":
                self.plus_time(expr, values, path)
            elif op == "extractFromUVCI":
                what = '"index" argument (#2) of "extractFromUVCI"'
                self.integer(ErrorCode.CERTLOGIC_UVCI_INDEX, what, values, path, expr)
        else:
            self.add(
                ErrorCode.CERTLOGIC_UNKNOWN_OPERATOR, f'unrecognised operator: "{op}"', path, expr
            )

    def arity(self, ok: bool, what: str, must: str, n: int, path: Path, expr: Any) -> None:
        if not ok:
            self.add(
                ErrorCode.CERTLOGIC_ARITY, f"{what} must have {must}, but it has {n}", path, expr
            )

    def operands(self, values: list[Any], at: Path) -> None:
        for i, value in enumerate(values):
            self.walk(value, (*at, i))

    def var(self, expr: Any, path_spec: Any, path: Path) -> None:
        if type(path_spec) is not str:
            self.add(
                ErrorCode.CERTLOGIC_VAR_FORM, 'not of the form { "var": "<path>" }', path, expr
            )
        elif path_spec != "" and "" in path_spec.split("."):
            self.add(
                ErrorCode.CERTLOGIC_VAR_PATH,
                f"data access path doesn't have a valid format: {path_spec}",
                path,
                expr,
            )

    def infix(self, expr: Any, op: str, values: list[Any], path: Path, at: Path) -> None:
        n = len(values)
        if op == "and":
            self.arity(n >= 2, 'an "and" operation', "at least 2 operands", n, path, expr)
            self.operands(values, at)
        elif op in COMPARISONS:
            self.arity(
                2 <= n <= 3, f'an operation with operator "{op}"', "2 or 3 operands", n, path, expr
            )
            self.operands(values[:3], at)
        else:
            self.arity(n == 2, f'an operation with operator "{op}"', "2 operands", n, path, expr)
            self.operands(values[:2], at)

    def integer(self, code: ErrorCode, what: str, values: list[Any], path: Path, expr: Any) -> None:
        """The second argument, which must be an integer literal."""
        if len(values) > 1 and not is_int(values[1]):
            message = f"{what} must be an integer, but it is: {js_str(values[1])}"
            self.add(code, message, path, expr)

    def plus_time(self, expr: Any, values: list[Any], path: Path) -> None:
        what = '"amount" argument (#2) of "plusTime"'
        self.integer(ErrorCode.CERTLOGIC_PLUSTIME_AMOUNT, what, values, path, expr)
        if len(values) > 2 and (type(values[2]) is not str or values[2] not in TIME_UNITS):
            self.add(
                ErrorCode.CERTLOGIC_PLUSTIME_UNIT,
                f'"unit" argument (#3) of "plusTime" must be a string equal to one of '
                f"{', '.join(TIME_UNITS)}, but it is: {js_str(values[2])}",
                path,
                expr,
            )


#: Operations with a fixed number of operands: (what, what it must have, how many, how many
#: of them are expressions to validate in turn).
_FIXED_ARITY: Final = {
    "if": ('an "if"-operation', "exactly 3 values/operands", 3, 3),
    "reduce": ('a "reduce"-operation', "exactly 3 values/operands", 3, 3),
    "plusTime": ('a "plusTime"-operation', "exactly 3 values/operands", 3, 1),
    "extractFromUVCI": ('an "extractFromUVCI"-operation', "exactly 2 values/operands", 2, 1),
    "dccDateOfBirth": ('a "dccDateOfBirth"-operation', "exactly 1 value/operand", 1, 1),
}


def validate(expr: Any) -> list[ValidationIssue]:
    """Every format problem of ``expr`` as a CertLogic expression, in document order; ``[]``
    if it is valid. Never raises."""
    v = _Validator()
    v.walk(expr, ())
    return v.issues


def check(expr: Any) -> None:
    """Accept a valid expression.

    Raises:
        CertLogicError: for the first issue :func:`validate` finds, with that issue's code
            and ``details["path"]`` (a JSON Pointer to the sub-expression).
    """
    issues = validate(expr)
    if issues:
        raise issues[0].to_error()
