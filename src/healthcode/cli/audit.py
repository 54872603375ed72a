"""``healthcode audit verify``, ``audit log`` and ``audit changes``: check what a colour log
publishes, as an auditor would.

``audit log URL|DIR`` checks a whole log, live (a province's ``/log/...``) or a copy saved
with ``--save DIR`` (offline): the checkpoint's signature and cosignatures, every leaf and
tile against the root (``core/audit/auditor.py``); a live log saved over an older copy must be
consistent with it. ``audit verify`` checks one checkpoint and its proofs, offline: its
signature by the log's key (and each witness's cosignature asked for), a leaf's inclusion in
it, and its consistency with an older checkpoint. Proofs come from files (one base64 hash a
line) or are computed from a directory of the log's tiles (``--tiles``: the
files ``tile/...`` as tlog-tiles names them), where the tree is also checked against the
checkpoint's root. ``audit changes URL|DIR`` reads every leaf of the checked log
(``verified_leaves``) beside the province's published decisions (``/log/decisions``, or
``--decisions FILE``) and lists every change with no rule or no approved decision behind it and
every decision that broke a safeguard (``core/audit/decisions.py``). Exit 0 when every check
passes (nothing listed), 1 when one fails, 2 for a bad command line (``docs/audit.md``).
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from healthcode.cli import options
from healthcode.core.audit.auditor import (
    CHECKPOINT,
    audit_log,
    directory_source,
    open_published,
    verified_leaves,
)
from healthcode.core.audit.checkpoint import Checkpoint, open_checkpoint
from healthcode.core.audit.decisions import Finding, audit_changes, read_decisions
from healthcode.core.audit.leaf import decode_leaf
from healthcode.core.audit.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from healthcode.core.audit.note import NoteVerifier, open_note
from healthcode.core.audit.tiles import HEIGHT, TileReader, decode_bundle, tile_path
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AuditError, HealthcodeError, InvalidInput

__all__ = ["app"]

app = options.command_group("The colour log: verify checkpoints and proofs.")


def _file(flag: str, help_text: str) -> Any:
    """An option naming a file that must exist."""
    return typer.Option(flag, metavar="FILE", exists=True, dir_okay=False, help=help_text)


def _keys(values: list[str], option: str) -> list[NoteVerifier]:
    try:
        return [NoteVerifier.from_vkey(v) for v in values]
    except HealthcodeError as exc:
        raise options.refused(exc, option) from exc


def _proof(path: Path) -> list[bytes]:
    try:
        return [base64.b64decode(line, validate=True) for line in path.read_text().split()]
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(ErrorCode.FILE_ERROR, f"{path}: not base64 lines") from exc


def _tiles(directory: Path) -> Any:
    def fetch(path: str) -> bytes:
        file = directory / path
        if not file.is_file():
            raise AuditError(ErrorCode.TILE_MISSING, f"{path} is not in {directory}")
        return file.read_bytes()

    return fetch


def _checkpoint(
    raw: bytes, keys: list[NoteVerifier], witnesses: list[NoteVerifier], origin: str | None
) -> Checkpoint:
    checkpoint = open_checkpoint(raw, keys, origin=origin)
    for witness in witnesses:
        open_note(raw, [witness])
    return checkpoint


def _inclusion(
    checkpoint: Checkpoint, index: int, leaf: Path | None, proof: Path | None, tiles: Path | None
) -> dict[str, Any]:
    if tiles is not None:
        fetch = _tiles(tiles)
        reader = TileReader(fetch, checkpoint.size)
        path = _inclusion_source(checkpoint, index, leaf, fetch)
        hashes = inclusion_proof(reader.node, index, checkpoint.size)
    elif leaf is not None and proof is not None:
        path, hashes = leaf.read_bytes(), _proof(proof)
    else:
        raise InvalidInput(ErrorCode.USAGE, "--index needs --leaf and --proof, or --tiles")
    verify_inclusion(leaf_hash(path), index, checkpoint.size, hashes, checkpoint.root)
    try:
        shown: Any = decode_leaf(path).to_dict()
    except AuditError:
        shown = base64.b64encode(path).decode()
    return {"index": index, "leaf": shown}


def _inclusion_source(checkpoint: Checkpoint, index: int, leaf: Path | None, fetch: Any) -> bytes:
    """The leaf: its file when given, else its entry in the log's entry bundle."""
    if leaf is not None:
        return leaf.read_bytes()
    bundle, offset = divmod(index, 1 << HEIGHT)
    full = (bundle + 1) << HEIGHT <= checkpoint.size
    width = (1 << HEIGHT) if full else checkpoint.size - (bundle << HEIGHT)
    entries = decode_bundle(fetch(tile_path("entries", bundle, width)), width)
    return entries[offset]


#: The options every audit command shares: the log's keys, the witnesses, the origin.
LogKeys = Annotated[list[str], typer.Option("--key", metavar="VKEY", help="the log's key")]
Witnesses = Annotated[
    list[str] | None,
    typer.Option("--witness", metavar="VKEY", help="a witness that must have cosigned"),
]
Origin = Annotated[str | None, typer.Option("--origin", metavar="ORIGIN", help="the log's origin")]
LogSource = Annotated[
    str, typer.Argument(metavar="SOURCE", help="a province's URL or a saved copy's folder")
]


@app.command("verify")
def verify(
    checkpoint_file: Annotated[Path, _file("--checkpoint", "the log's signed checkpoint")],
    key: LogKeys,
    witness: Witnesses = None,
    origin: Origin = None,
    index: Annotated[
        int | None, typer.Option("--index", min=0, metavar="N", help="the leaf's index")
    ] = None,
    leaf: Annotated[Path | None, _file("--leaf", "the leaf's bytes")] = None,
    proof: Annotated[Path | None, _file("--proof", "inclusion proof")] = None,
    old: Annotated[Path | None, _file("--old-checkpoint", "an older checkpoint")] = None,
    consistency: Annotated[Path | None, _file("--consistency", "its proof")] = None,
    tiles: Annotated[
        Path | None,
        typer.Option(
            "--tiles",
            metavar="DIR",
            exists=True,
            file_okay=False,
            help="the log's tiles: proofs computed from them",
        ),
    ] = None,
    as_json: options.AsJson = False,
) -> None:
    """Verify a checkpoint, a leaf's inclusion and consistency with an older checkpoint."""
    keys, witnesses = _keys(key, "--key"), _keys(witness or [], "--witness")
    checkpoint = _checkpoint(checkpoint_file.read_bytes(), keys, witnesses, origin)
    out: dict[str, Any] = {
        "checkpoint": {
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode(),
            "witnesses": [w.name for w in witnesses],
        }
    }
    if tiles is not None:
        if TileReader(_tiles(tiles), checkpoint.size).root() != checkpoint.root:
            raise AuditError(ErrorCode.MERKLE_ROOT_MISMATCH, "the tiles are not the checkpoint's")
        out["tiles"] = "match the checkpoint"
    if index is not None:
        out["inclusion"] = _inclusion(checkpoint, index, leaf, proof, tiles)
    if old is not None:
        out["consistency"] = _consistency(checkpoint, old, keys, origin, consistency, tiles)
    _show(out, as_json)


def _consistency(
    new: Checkpoint,
    old_file: Path,
    keys: list[NoteVerifier],
    origin: str | None,
    proof: Path | None,
    tiles: Path | None,
) -> dict[str, int]:
    old = open_checkpoint(old_file.read_bytes(), keys, origin=origin or new.origin)
    if tiles is not None:
        hashes = consistency_proof(TileReader(_tiles(tiles), new.size).node, old.size, new.size)
    elif proof is not None:
        hashes = _proof(proof)
    else:
        raise InvalidInput(ErrorCode.USAGE, "--old-checkpoint needs --consistency or --tiles")
    verify_consistency(old.size, new.size, hashes, old.root, new.root)
    return {"from": old.size, "to": new.size}


def _show(out: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    cp = out["checkpoint"]
    witnessed = f", cosigned by {', '.join(cp['witnesses'])}" if cp["witnesses"] else ""
    typer.echo(f"checkpoint {cp['origin']} size {cp['size']} root {cp['root']}: ok{witnessed}")
    if "tiles" in out:
        typer.echo("tiles: match the checkpoint")
    if "inclusion" in out:
        typer.echo(f"leaf {out['inclusion']['index']}: included")
    if "consistency" in out:
        c = out["consistency"]
        typer.echo(f"consistency {c['from']} -> {c['to']}: ok")


# -- a whole log, live or saved ------------------------------------------------------------------
class _Live:
    """A live log's files over HTTP (``URL/log/...``), kept to be saved once they passed."""

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.files: dict[str, bytes] = {}
        self._client = httpx.Client(timeout=30.0)
        self._errors = httpx.HTTPError

    def __call__(self, path: str) -> bytes:
        if path not in self.files:
            try:
                r = self._client.get(f"{self.url}/log/{path}")
            except self._errors as exc:
                raise HealthcodeError(
                    ErrorCode.PROVINCE_UNREACHABLE, f"{self.url}: {type(exc).__name__}"
                ) from exc
            if r.status_code == 404:
                raise AuditError(ErrorCode.TILE_MISSING, f"{self.url} has no {path}")
            if r.status_code != 200:
                raise HealthcodeError(
                    ErrorCode.PROVINCE_UNREACHABLE, f"{self.url}/log/{path}: {r.status_code}"
                )
            self.files[path] = bytes(r.content)
        return self.files[path]

    def save(self, directory: Path) -> None:
        """Write every file fetched, the checkpoint last (a copy cut short keeps the old one)."""
        for path, data in sorted(self.files.items(), key=lambda kv: kv[0] == CHECKPOINT):
            file = directory / path
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_name(f".{file.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(file)


def _grown_from(
    saved: Path, new: Checkpoint, keys: list[NoteVerifier], fetch: Any
) -> dict[str, int] | None:
    """The consistency of the copy saved before (if any) with the new checkpoint."""
    file = saved / CHECKPOINT
    if not file.is_file():
        return None
    old = open_checkpoint(file.read_bytes(), keys, origin=new.origin)
    if old.size == 0:
        return {"from": 0, "to": new.size}
    if old.size > new.size:
        raise AuditError(ErrorCode.WITNESS_ROLLBACK, f"the log shrank from {old.size}")
    hashes = consistency_proof(TileReader(fetch, new.size).node, old.size, new.size)
    verify_consistency(old.size, new.size, hashes, old.root, new.root)
    return {"from": old.size, "to": new.size}


@app.command("log")
def audit_whole_log(
    source: LogSource,
    key: LogKeys,
    witness: Witnesses = None,
    origin: Origin = None,
    save: Annotated[
        Path | None,
        typer.Option("--save", metavar="DIR", file_okay=False, help="save the live log here"),
    ] = None,
    as_json: options.AsJson = False,
) -> None:
    """Audit a whole log: its checkpoint, witnesses, every leaf against the root."""
    keys, witnesses = _keys(key, "--key"), _keys(witness or [], "--witness")
    live = source.startswith(("http://", "https://"))
    if not live and not Path(source).is_dir():
        raise InvalidInput(ErrorCode.FILE_ERROR, f"{source} is neither a URL nor a directory")
    fetch: Any = _Live(source) if live else directory_source(source)
    found = audit_log(fetch, log_keys=keys, witnesses=witnesses, origin=origin)
    out: dict[str, Any] = {
        "checkpoint": {
            "origin": found.checkpoint.origin,
            "size": found.checkpoint.size,
            "root": base64.b64encode(found.checkpoint.root).decode(),
            "witnesses": list(found.witnesses),
        },
        "tiles": "match the checkpoint",
        "colours": found.colours,
        "bases": found.bases,
    }
    if live and save is not None:
        grown = _grown_from(save, found.checkpoint, keys, fetch)
        if grown is not None:
            out["consistency"] = grown
        fetch.save(save)
        out["saved"] = str(save)
    _show(out, as_json)
    if not as_json:
        typer.echo(f"leaves: {found.colours} by {found.bases}")


def _decisions(source: str, live: bool, given: Path | None) -> Any:
    """The province's published decisions: ``--decisions FILE``, else ``/log/decisions`` of
    a live province (every page), else ``decisions.json`` in the saved copy."""
    if given is None and live:
        import httpx

        out: list[Any] = []
        try:
            with httpx.Client(timeout=30.0) as client:
                while True:
                    page = client.get(
                        f"{source.rstrip('/')}/log/decisions",
                        params={"offset": len(out), "limit": 1000},
                    ).json()
                    out += page["decisions"]
                    if not page["decisions"] or len(out) >= page["total"]:
                        return {"decisions": out}
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise HealthcodeError(
                ErrorCode.PROVINCE_UNREACHABLE, f"{source}/log/decisions: {type(exc).__name__}"
            ) from exc
    path = given if given is not None else Path(source) / "decisions.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(ErrorCode.FILE_ERROR, f"{path}: no JSON list of decisions") from exc


def _listed(out: dict[str, Any], findings: list[Finding], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    cp = out["checkpoint"]
    found = f"{len(findings)} found"
    typer.echo(f"{cp['origin']} size {cp['size']}, {out['decisions']} decisions: {found}")
    for f in findings:
        where = f"leaf {f.index}" if f.index is not None else f"decision {f.decision}"
        typer.echo(f"{f.code} {where}: {f.message}")


@app.command("changes")
def changes(
    source: LogSource,
    key: LogKeys,
    decisions: Annotated[
        Path | None, _file("--decisions", "the published decisions (GET /log/decisions)")
    ] = None,
    witness: Witnesses = None,
    origin: Origin = None,
    as_json: options.AsJson = False,
) -> None:
    """List every change with no rule or no approved decision behind it, and every decision
    that broke a safeguard; exit 1 when anything is listed."""
    keys, witnesses = _keys(key, "--key"), _keys(witness or [], "--witness")
    live = source.startswith(("http://", "https://"))
    if not live and not Path(source).is_dir():
        raise InvalidInput(ErrorCode.FILE_ERROR, f"{source} is neither a URL nor a directory")
    fetch: Any = _Live(source) if live else directory_source(source)
    checkpoint = open_published(
        fetch(CHECKPOINT), log_keys=keys, witnesses=witnesses, origin=origin
    )
    listed = read_decisions(_decisions(source, live, decisions))
    findings = audit_changes(verified_leaves(fetch, checkpoint), listed)
    out = {
        "checkpoint": {"origin": checkpoint.origin, "size": checkpoint.size},
        "decisions": len(listed),
        "findings": [f.to_dict() for f in findings],
    }
    _listed(out, findings, as_json)
    if findings:
        raise typer.Exit(1)
