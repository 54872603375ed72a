// The colour log's inclusion proofs checked in the browser (RFC 9162 2.1.3.2, SHA-256 by
// WebCrypto), as core/audit/merkle.py checks them: a leaf's hash is SHA-256(0x00 || data), a
// node's SHA-256(0x01 || left || right); the root comes from the log's checkpoint (a C2SP
// signed note: origin, tree size, base64 root hash, a blank line, its signatures).

async function sha256(...parts) {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

export function fromBase64(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function sameBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export const leafHash = (data) => sha256(Uint8Array.of(0), data);
const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

// The checkpoint's origin, size and root; null for anything else.
export function parseCheckpoint(note) {
  if (typeof note !== "string") return null;
  const [origin, sizeText, rootText] = note.split("\n\n")[0].split("\n");
  if (!origin || !/^[0-9]{1,16}$/.test(sizeText || "") || !rootText) return null;
  try {
    const root = fromBase64(rootText);
    return root.length === 32 ? { origin, size: Number(sizeText), root } : null;
  } catch {
    return null;
  }
}

// True when `proof` (base64 hashes) takes the leaf `data` at `index` to `root` in a tree of
// `size` leaves. Plain numbers (exact below 2^53), no bit operators (they are 32-bit).
export async function verifyInclusion(index, size, data, proof, root) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    return false;
  }
  let fn = index;
  let sn = size - 1;
  let r = await leafHash(data);
  for (const text of proof) {
    const p = fromBase64(text);
    if (sn === 0 || p.length !== 32) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameBytes(r, root);
}
