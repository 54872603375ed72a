"""A network's data folder: what ``healthcode init`` makes and every service of ``healthcode
serve`` reads, so that nobody types a key.

Layout (paths inside the folder; the description names them, relative, so the folder can move)::

    network.json                    the description: services, addresses, ports, database files
    keys/                           the key home (core/trust/network.py): root, signers, publishers
    secrets/field.key               the hub's field key (AES-256, base64), mode 0600
    secrets/pseudonym.key           the hub's pseudonym key (HMAC, base64), mode 0600
    secrets/province-<code>.key     each province's field key (AES-256, base64), mode 0600
    secrets/operator.token          the hub's operator token (the national dashboard), mode 0600
    secrets/staff-<code>-<role>.token  each province's demo staff tokens (network/staff.py), 0600
    tokens/<name>.token             each organisation's API token, mode 0600
    hub.db                          the hub's SQLite database (with the trust state)
    province-<code>.db              each province's SQLite database
    checkpoint/trust/               the checkpoint's trust store (the newest signed trust list)

Every secret is random (``secrets.token_bytes``) and written once, to a file only its owner may
read; a file that exists is kept, so making the folder again changes nothing. Nothing here
talks to a server: the hub's database is opened directly (migrations, organisations, the trust
state), as ``healthcode hub migrate`` and ``healthcode org add`` do.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

__all__ = [
    "DEFAULT_BASE_PORT",
    "DEFAULT_PROVINCES",
    "DESCRIPTION",
    "FORMAT",
    "DataDir",
    "OrgSpec",
    "org_specs",
    "write_secret",
]

FORMAT = "healthcode-network/1"
DESCRIPTION = "network.json"
DEFAULT_PROVINCES = ("440000", "110000")
#: The hub listens here; the provinces on the next ports, in order; the checkpoint after them.
DEFAULT_BASE_PORT = 8400
HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class OrgSpec:
    """An organisation a service of the network needs: its token file's name, kind, region."""

    name: str
    kind: str
    region: str
    title: str


def org_specs(provinces: tuple[str, ...]) -> list[OrgSpec]:
    """The organisations of a demo network: each province, a checkpoint, a lab, a vaccination
    registry, a disease-control body, an itinerary source (venue scans, tickets), and a
    risk-area authority per province."""
    out = [OrgSpec(f"province-{p}", "province", p, f"省级健康码平台 {p}") for p in provinces]
    out += [
        OrgSpec("checkpoint", "checkpoint", "440100", "广州南站 查验点"),
        OrgSpec("lab", "lab", "440106", "广州金域医学检验中心"),
        OrgSpec("vaccination", "vaccination", "110000", "全国免疫规划信息系统"),
        OrgSpec("disease-control", "disease-control", "110000", "中国疾病预防控制中心"),
        OrgSpec("itinerary", "itinerary", "110000", "通信行程卡与场所码平台"),
    ]
    out += [
        OrgSpec(f"risk-authority-{p}", "risk-authority", p, f"疫情防控指挥部 {p}")
        for p in provinces
    ]
    return out


def write_secret(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file only its owner may read (0600), whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass
class DataDir:
    """A network's data folder (see the module's docstring for its layout)."""

    root: Path
    description: dict[str, Any] = field(default_factory=dict)

    # -- paths ----------------------------------------------------------------------------------
    @property
    def description_path(self) -> Path:
        return self.root / DESCRIPTION

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def tokens(self) -> Path:
        return self.root / "tokens"

    @property
    def trust_store(self) -> Path:
        return self.root / "checkpoint" / "trust"

    def token_path(self, name: str) -> Path:
        return self.tokens / f"{name}.token"

    def token(self, name: str) -> str:
        """The API token of organisation ``name`` (``province-440000``, ``lab``, ...).

        Raises InvalidInput ``FILE_ERROR`` when the folder holds none.
        """
        path = self.token_path(name)
        try:
            return path.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise InvalidInput(
                ErrorCode.FILE_ERROR, f"no token {name} in {self.tokens} (run healthcode init)"
            ) from exc

    def database_url(self, file_name: str) -> str:
        return f"sqlite:///{(self.root / file_name).resolve()}"

    # -- the description ------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path | str) -> DataDir:
        """An initialised data folder. Raises InvalidInput ``FILE_ERROR`` when it is not one."""
        folder = cls(Path(root))
        try:
            doc = json.loads(folder.description_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(
                ErrorCode.FILE_ERROR,
                f"{folder.root} is no network data folder (run healthcode init {folder.root})",
            ) from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise InvalidInput(
                ErrorCode.FILE_ERROR, f"{folder.description_path} is not a {FORMAT} description"
            )
        folder.description = doc
        return folder

    @property
    def provinces(self) -> list[str]:
        return list(self.description["provinces"])

    def service(self, name: str) -> dict[str, Any]:
        """The description of a service: ``hub``, ``checkpoint`` or a province code."""
        if name in ("hub", "checkpoint"):
            return dict(self.description[name])
        return dict(self.description["province_services"][name])

    def url(self, name: str) -> str:
        s = self.service(name)
        return f"http://{s['host']}:{s['port']}"

    # -- what each service is configured with ---------------------------------------------------
    def key_text(self, name: str) -> str:
        """A secret key's base64 text (``field`` or ``pseudonym``)."""
        return (self.secrets / f"{name}.key").read_text(encoding="ascii").strip()

    def hub_environment(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """``environ`` (default ``os.environ``) with the hub's settings from this folder: its
        database, its field and pseudonym keys, its key home and its address."""
        hub = self.service("hub")
        return {
            **(os.environ if environ is None else environ),
            "HEALTHCODE_DATABASE_URL": self.database_url(hub["database"]),
            "HEALTHCODE_FIELD_KEY": self.key_text("field"),
            "HEALTHCODE_PSEUDONYM_KEY": self.key_text("pseudonym"),
            "HEALTHCODE_HOME": str(self.keys.resolve()),
            "HEALTHCODE_HUB_HOST": str(hub["host"]),
            "HEALTHCODE_HUB_PORT": str(hub["port"]),
            **self._operator_environment(),
        }

    def _operator_environment(self) -> dict[str, str]:
        """The hub's operator token (``secrets/operator.token``; the national staff's, for
        ``/v1/alerts`` and the dashboard ``/ops``), when the folder has one."""
        path = self.secrets / "operator.token"
        if not path.is_file():
            return {}
        return {"HEALTHCODE_OPERATOR_TOKEN": path.read_text(encoding="ascii").strip()}

    def checkpoint_environment(self) -> dict[str, str]:
        """The checkpoint's ``HEALTHCODE_CHECKPOINT_*`` settings from this folder."""
        me = self.service("checkpoint")
        return {
            "HEALTHCODE_CHECKPOINT_HOST": str(me["host"]),
            "HEALTHCODE_CHECKPOINT_PORT": str(me["port"]),
            "HEALTHCODE_CHECKPOINT_TRUST_STORE": str(self.root / me["trust_store"]),
            "HEALTHCODE_CHECKPOINT_NATIONAL_ROOT": str(self.keys / "root.cert.pem"),
            "HEALTHCODE_CHECKPOINT_HUB_URL": self.url("hub"),
            "HEALTHCODE_CHECKPOINT_HUB_TOKEN": self.token("checkpoint"),
        }

    def province_environment(
        self, province: str, environ: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """``environ`` (default ``os.environ``) with a province's ``HEALTHCODE_PROVINCE_*``
        settings from this folder: its region, database, field key, address, the hub's address
        and the province's token there, and the key home (its signers) with the trust state in
        the hub's database."""
        me, hub = self.service(province), self.service("hub")
        return {
            **(os.environ if environ is None else environ),
            "HEALTHCODE_PROVINCE_REGION": province,
            "HEALTHCODE_PROVINCE_DATABASE_URL": self.database_url(me["database"]),
            "HEALTHCODE_PROVINCE_FIELD_KEY": self.key_text(f"province-{province}"),
            "HEALTHCODE_PROVINCE_HUB_URL": self.url("hub"),
            "HEALTHCODE_PROVINCE_HUB_TOKEN": self.token(f"province-{province}"),
            "HEALTHCODE_PROVINCE_HOST": str(me["host"]),
            "HEALTHCODE_PROVINCE_PORT": str(me["port"]),
            "HEALTHCODE_HOME": str(self.keys.resolve()),
            "HEALTHCODE_PROVINCE_TRUST_DATABASE_URL": self.database_url(hub["database"]),
        }

    # -- making it ------------------------------------------------------------------------------
    def ensure_secret_keys(self) -> list[str]:
        """The hub's field and pseudonym keys and each province's field key (32 random bytes
        each) and the hub's operator token, made once. What it made."""
        made = []
        for name in ("field", "pseudonym", *(f"province-{p}" for p in self.provinces)):
            path = self.secrets / f"{name}.key"
            if not path.exists():
                write_secret(path, base64.b64encode(secrets.token_bytes(32)) + b"\n")
                made.append(str(path))
        operator = self.secrets / "operator.token"
        if not operator.exists():
            write_secret(operator, ("hco_" + secrets.token_urlsafe(32)).encode("ascii") + b"\n")
            made.append(str(operator))
        return made

    def ensure_description(self, provinces: tuple[str, ...], base_port: int) -> bool:
        """Write the description unless the folder has one (then it is read). Whether it made it."""
        if self.description_path.exists():
            self.description = DataDir.open(self.root).description
            return False
        ports = iter(range(base_port, base_port + len(provinces) + 2))
        self.description = {
            "format": FORMAT,
            "provinces": list(provinces),
            "keys": "keys",
            "hub": {"host": HOST, "port": next(ports), "database": "hub.db"},
            "province_services": {
                p: {
                    "host": HOST,
                    "port": next(ports),
                    "database": f"province-{p}.db",
                    "token": f"tokens/province-{p}.token",
                }
                for p in provinces
            },
            "checkpoint": {
                "host": HOST,
                "port": next(ports),
                "trust_store": "checkpoint/trust",
                "token": "tokens/checkpoint.token",
            },
            "tokens": {s.name: f"tokens/{s.name}.token" for s in org_specs(provinces)},
        }
        self.root.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.description, indent=2, ensure_ascii=False) + "\n"
        tmp = self.description_path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.description_path)
        return True

    def write_token(self, name: str, token: str) -> None:
        write_secret(self.token_path(name), token.encode("ascii") + b"\n")
