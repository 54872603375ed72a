"""The province's calls to the hub, over HTTP with its organisation token.

Every failure is translated here, at one boundary: the hub could not be reached (a connection
refused, a timeout, a 5xx) is ``HUB_UNREACHABLE`` (try again later: nothing was done that a
retry would repeat wrongly, every call is idempotent at the hub); the hub refused (a 4xx) is
``HUB_REFUSED`` with the hub's own code in ``hub_code``.

>>> HubClient(base_url="http://127.0.0.1:9", token="t", province="440000").province
'440000'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError

__all__ = ["HubClient", "HubError"]


class HubError(HealthcodeError):
    """The hub could not be reached (``HUB_UNREACHABLE``) or refused (``HUB_REFUSED``)."""


class HubClient:
    """The hub as one province sees it. ``transport`` lets tests call a hub in-process."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        province: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.province = province
        self._client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Raises HubError HUB_UNREACHABLE, HUB_REFUSED."""
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise HubError(
                ErrorCode.HUB_UNREACHABLE, f"the hub cannot be reached: {type(exc).__name__}"
            ) from exc
        if response.status_code >= 500:
            raise HubError(
                ErrorCode.HUB_UNREACHABLE,
                f"the hub answered {response.status_code}",
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise HubError(
                ErrorCode.HUB_REFUSED,
                f"the hub refused with {response.status_code}",
                status=response.status_code,
                hub_code=_code_of(response),
            )
        return response

    def register(self, people: Sequence[Mapping[str, Any]]) -> list[str]:
        """Register people with the hub; their pseudonyms in order."""
        answer = self._call("POST", "/v1/registrations", json={"people": list(people)}).json()
        return [str(p) for p in answer["pseudonyms"]]

    def feed(self, *, after: int, limit: int, wait: float = 0.0) -> dict[str, Any]:
        """One page of this province's feed after ``after``; with ``wait``, the hub answers an
        empty page only after that many seconds (a long poll: at once when entries come)."""
        params: dict[str, Any] = {"after": after, "limit": limit}
        extra: dict[str, Any] = {}
        if wait > 0:
            params["wait"] = wait
            timeout = self._client.timeout
            extra["timeout"] = httpx.Timeout(
                connect=timeout.connect,
                read=None if timeout.read is None else timeout.read + wait,
                write=timeout.write,
                pool=timeout.pool,
            )
        answer: dict[str, Any] = self._call(
            "GET", f"/v1/feeds/{self.province}", params=params, **extra
        ).json()
        return answer

    def report(self, reports: Sequence[Mapping[str, Any]]) -> int:
        """Report code status; how many the hub stored."""
        answer = self._call("POST", "/v1/status", json={"reports": list(reports)}).json()
        return int(answer["stored"])

    def hand_over(self, handovers: Sequence[Mapping[str, Any]]) -> int:
        """Pass grid tasks to the provinces of the people's residence; how many the hub took."""
        answer = self._call("POST", "/v1/grid/handovers", json={"handovers": list(handovers)})
        return int(answer.json()["accepted"])

    def withdraw(self, record: int, *, reason: str, appeal: str) -> dict[str, Any]:
        """Withdraw the hub's record ``record`` of a person this province holds (an upheld
        appeal); the hub's answer (record, kind, version, action). A second call answers the
        withdrawal stored."""
        answer: dict[str, Any] = self._call(
            "POST",
            f"/v1/records/{int(record)}/holder-withdrawal",
            json={"reason": reason, "appeal": appeal},
        ).json()
        return answer

    def published(self, kind: str) -> bytes | None:
        """The hub's latest signed document of ``kind``; None when it publishes none."""
        try:
            return self._call("GET", f"/v1/published/{kind}").content
        except HubError as exc:
            if exc.details.get("hub_code") == ErrorCode.NOT_PUBLISHED:
                return None
            raise


def _code_of(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None
