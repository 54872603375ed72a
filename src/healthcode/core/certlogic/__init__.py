"""CertLogic 1.3: the expression language of the EU DCC business rules and of our colour rules.

``compile`` an expression once (it is validated first), then call the result on each data
context; ``evaluate`` does both in one step. ``validate`` lists every format issue of an
expression with a stable code and its path; ``check`` raises the first one. Every failure is a
:class:`healthcode.core.errors.CertLogicError` with a stable ``CERTLOGIC_*`` code.

>>> from healthcode.core.certlogic import compile, validate
>>> is_minor = compile({"after": [
...     {"dccDateOfBirth": [{"var": "payload.dob"}]},
...     {"plusTime": [{"var": "external.validationClock"}, -18, "year"]}]})
>>> is_minor({"payload": {"dob": "2004"}, "external": {"validationClock": "2022-12-30T13:37:00Z"}})
True
>>> [str(issue.code) for issue in validate({"plusTime": [{"var": "x"}, 1, "week"]})]
['CERTLOGIC_PLUSTIME_UNIT']
"""

from healthcode.core.certlogic.compiler import Compiled, compile, evaluate
from healthcode.core.certlogic.dates import dcc_date_of_birth, parse_date_time, plus_time
from healthcode.core.certlogic.validator import OPERATORS, ValidationIssue, check, validate
from healthcode.core.certlogic.values import boolsiness, strict_equals

__all__ = [
    "OPERATORS",
    "Compiled",
    "ValidationIssue",
    "boolsiness",
    "check",
    "compile",
    "dcc_date_of_birth",
    "evaluate",
    "parse_date_time",
    "plus_time",
    "strict_equals",
    "validate",
]
