"""A small AWS policy evaluator: identity policies, resource policies and KMS key policies.

It follows AWS's documented evaluation logic ("Policy evaluation logic", "Cross-account policy
evaluation logic", KMS "Key policies"), for what this project's templates use:

- statements: Effect Allow/Deny, Action/NotAction (wildcards `*` and `?`, case-insensitive),
  Resource/NotResource (wildcards, case-sensitive), Principal/NotPrincipal (`*`, `{"AWS": ...}`
  with role ARNs, account ids and `arn:...:root`, `{"Service": ...}`);
- conditions: String*, Arn*, Bool, Null and Numeric* operators, their `...IfExists` forms and the
  `ForAnyValue:`/`ForAllValues:` set operators; keys are case-insensitive; several keys or
  operators in one block must all hold; several values of one key match if any does (negated
  operators: if none does); a key missing from the request fails an operator, holds for a negated
  operator and for `...IfExists`;
- decision: an explicit Deny anywhere wins. In one account a request is allowed if the identity
  policy or the resource policy allows it; a resource policy that names the account (its root)
  rather than the principal delegates to the identity policy. Across accounts both must allow. For
  a KMS key the key policy must allow, directly or by naming the account, in which case the
  identity policy must allow too. A service principal has no identity policy.

Not modelled: permission boundaries, SCPs/RCPs, session policies, policy variables, grants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

Policy = Mapping[str, Any]
ContextValue = str | bool | int | Sequence[str]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW


@dataclass(frozen=True)
class Principal:
    """Who calls: an IAM role (its ARN) or an AWS service (e.g. `sns.amazonaws.com`)."""

    arn: str = ""
    service: str = ""

    @property
    def account(self) -> str:
        return self.arn.split(":")[4] if self.arn else ""


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def value(self, key: str) -> list[str] | None:
        """The request context's values for `key` (case-insensitive); None when absent."""
        wanted = key.lower()
        for name, value in self._context().items():
            if name.lower() == wanted:
                if isinstance(value, bool):
                    return ["true" if value else "false"]
                if isinstance(value, str | int):
                    return [str(value)]
                return [str(v) for v in value]
        return None

    def _context(self) -> dict[str, ContextValue]:
        """Keys AWS adds itself for a role's request; the caller's context comes on top."""
        implied: dict[str, ContextValue] = {}
        if self.principal.arn:
            implied["aws:PrincipalArn"] = self.principal.arn
            implied["aws:PrincipalAccount"] = self.principal.account
        return {**implied, **self.context}


class _Match(Enum):
    NONE = 0
    ACCOUNT = 1  # through the account's root: delegated to the identity policy
    DIRECT = 2


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@lru_cache(maxsize=512)
def _wildcard(pattern: str, *, case_sensitive: bool) -> re.Pattern[str]:
    text = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{text}$", 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def matches(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM's wildcard match: `*` any run of characters, `?` one character."""
    return bool(_wildcard(pattern, case_sensitive=case_sensitive).match(value))


def arn_matches(pattern: str, arn: str) -> bool:
    """ArnLike/ArnEquals: the six colon-separated parts compared one by one, with wildcards."""
    expected, actual = pattern.split(":", 5), arn.split(":", 5)
    if len(expected) != 6 or len(actual) != 6:
        return False
    return all(matches(e, a) for e, a in zip(expected, actual, strict=True))


def _principal_match(element: Any, principal: Principal) -> _Match:
    if element == "*":
        return _Match.DIRECT
    if not isinstance(element, Mapping):
        raise ValueError(f"Principal: expected '*' or a mapping, got {element!r}")
    best = _Match.NONE
    for kind, values in element.items():
        for value in _listed(values):
            if kind == "AWS":
                if value == "*":
                    return _Match.DIRECT
                if principal.arn and value == principal.arn:
                    return _Match.DIRECT
                account = value.split(":")[4] if value.startswith("arn:") else value
                is_account = value.isdigit() or (value.startswith("arn:") and value.endswith(":root"))
                if is_account and principal.arn and account == principal.account:
                    best = _Match.ACCOUNT
            elif kind == "Service":
                if principal.service and value == principal.service:
                    return _Match.DIRECT
            else:
                raise ValueError(f"Principal: unsupported principal type {kind!r}")
    return best


# --- conditions

_STRING = {
    "StringEquals": lambda want, got: want == got,
    "StringEqualsIgnoreCase": lambda want, got: want.lower() == got.lower(),
    "StringLike": lambda want, got: matches(want, got),
    "ArnEquals": arn_matches,
    "ArnLike": arn_matches,
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_NUMERIC = {
    "NumericEquals": lambda want, got: got == want,
    "NumericNotEquals": lambda want, got: got != want,
    "NumericLessThan": lambda want, got: got < want,
    "NumericLessThanEquals": lambda want, got: got <= want,
    "NumericGreaterThan": lambda want, got: got > want,
    "NumericGreaterThanEquals": lambda want, got: got >= want,
}


def _value_holds(operator: str, wanted: list[str], got: str) -> bool:
    """One request value against the condition's values (OR over them; NOR for negated ones)."""
    if operator in _STRING:
        return any(_STRING[operator](str(w), got) for w in wanted)
    if operator in _NEGATED:
        return not any(_STRING[_NEGATED[operator]](str(w), got) for w in wanted)
    if operator == "Bool":
        return any(str(w).lower() == got.lower() for w in wanted)
    if operator in _NUMERIC:
        try:
            return any(_NUMERIC[operator](float(w), float(got)) for w in wanted)
        except ValueError:
            return False
    raise ValueError(f"Condition: unsupported operator {operator!r}")


def _condition_holds(operator: str, key: str, wanted: list[Any], request: Request) -> bool:
    got = request.value(key)
    if operator == "Null":
        absent = got is None
        return any(str(w).lower() == ("true" if absent else "false") for w in wanted)
    set_operator = ""
    if ":" in operator:
        set_operator, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    if operator not in _STRING and operator not in _NEGATED and operator not in _NUMERIC and operator != "Bool":
        raise ValueError(f"Condition: unsupported operator {operator!r}")
    if set_operator not in ("", "ForAnyValue", "ForAllValues"):
        raise ValueError(f"Condition: unsupported set operator {set_operator!r}")
    if got is None:
        if set_operator == "ForAllValues":
            return True  # AWS: ForAllValues with a missing key holds
        return if_exists or operator in _NEGATED
    if set_operator == "ForAllValues":
        return all(_value_holds(operator, wanted, value) for value in got)
    return any(_value_holds(operator, wanted, value) for value in got)


def conditions_hold(block: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    return all(
        _condition_holds(operator, key, _listed(values), request)
        for operator, keys in block.items()
        for key, values in keys.items()
    )


# --- statements and policies


def _statement_applies(statement: Mapping[str, Any], request: Request, *, resource_policy: bool) -> _Match:
    if "Action" in statement:
        if not any(matches(a, request.action, case_sensitive=False) for a in _listed(statement["Action"])):
            return _Match.NONE
    elif any(matches(a, request.action, case_sensitive=False) for a in _listed(statement.get("NotAction", []))):
        return _Match.NONE
    if "Resource" in statement:
        if not any(matches(r, request.resource) for r in _listed(statement["Resource"])):
            return _Match.NONE
    elif "NotResource" in statement:
        if any(matches(r, request.resource) for r in _listed(statement["NotResource"])):
            return _Match.NONE
    elif not resource_policy:
        raise ValueError(f"an identity policy statement needs Resource or NotResource: {statement!r}")
    found = _Match.DIRECT
    if resource_policy:
        if "Principal" in statement:
            found = _principal_match(statement["Principal"], request.principal)
        elif "NotPrincipal" in statement:
            excluded = _principal_match(statement["NotPrincipal"], request.principal)
            found = _Match.NONE if excluded is _Match.DIRECT else _Match.DIRECT
        else:
            raise ValueError(f"a resource policy statement needs Principal or NotPrincipal: {statement!r}")
        if found is _Match.NONE:
            return _Match.NONE
    if not conditions_hold(statement.get("Condition", {}), request):
        return _Match.NONE
    return found


@dataclass(frozen=True)
class _Outcome:
    denied: bool = False
    allowed: _Match = _Match.NONE


def _evaluate(policies: Sequence[Policy], request: Request, *, resource_policy: bool) -> _Outcome:
    denied, allowed = False, _Match.NONE
    for policy in policies:
        for statement in _listed(policy.get("Statement", [])):
            applies = _statement_applies(statement, request, resource_policy=resource_policy)
            if applies is _Match.NONE:
                continue
            if statement.get("Effect") == "Deny":
                denied = True
            elif statement.get("Effect") == "Allow":
                allowed = max(allowed, applies, key=lambda m: m.value)
            else:
                raise ValueError(f"Effect: expected Allow or Deny, got {statement.get('Effect')!r}")
    return _Outcome(denied, allowed)


def authorize(
    request: Request,
    *,
    identity_policies: Sequence[Policy] = (),
    resource_policy: Policy | None = None,
    resource_account: str,
    key_policy: bool = False,
) -> Decision:
    """AWS's decision for `request` on a resource of `resource_account`.

    `resource_policy` is the topic's, queue's or (with `key_policy`) the KMS key's policy.
    """
    identity = _evaluate(identity_policies, request, resource_policy=False) if request.principal.arn else _Outcome()
    resource = _evaluate([resource_policy] if resource_policy else [], request, resource_policy=True)
    if identity.denied or resource.denied:
        return Decision.EXPLICIT_DENY
    identity_allows = identity.allowed is _Match.DIRECT
    if key_policy:
        # The key policy is the root of access: directly, or by naming the account (then IAM decides).
        if resource.allowed is _Match.DIRECT and (
            request.principal.service or request.principal.account == resource_account or identity_allows
        ):
            return Decision.ALLOW
        if resource.allowed is _Match.ACCOUNT and identity_allows:
            return Decision.ALLOW
        return Decision.IMPLICIT_DENY
    if request.principal.service:
        return Decision.ALLOW if resource.allowed is _Match.DIRECT else Decision.IMPLICIT_DENY
    if request.principal.account == resource_account:
        if identity_allows or resource.allowed is _Match.DIRECT:
            return Decision.ALLOW
        return Decision.IMPLICIT_DENY
    # across accounts: the resource policy must let the principal (or its account) in, and the
    # principal's own account must allow it too.
    if resource.allowed is not _Match.NONE and identity_allows:
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY
