// Parsing a smart-HTTP ref advertisement (`GET <repo>/info/refs?service=git-upload-pack`, protocol v0/v1):
// pkt-lines, each a 4-hex-digit length (itself included) then the payload; `0000` is a flush. The first
// ref line carries the capabilities after a NUL, HEAD's symref among them (`symref=HEAD:refs/heads/main`);
// an annotated tag is followed by `<id> <name>^{}`, the object it finally names (git peels fully). The
// result has the shape of `git ls-remote --symref`'s parse, so both ways of listing are interchangeable.
// Pure: bytes in, a listing or a one-line reason out.

export interface AdvertisedRefs {
  /** The branch HEAD points at, when the server says (symref capability). */
  defaultBranch?: string;
  /** Full ref name (and `HEAD`) -> object id as advertised. */
  refs: Map<string, string>;
  /** Full ref name -> the fully peeled object (the `^{}` lines). */
  peeled: Map<string, string>;
}

/** Why an advertisement could not be read; `server` when the server itself sent an ERR packet. */
export class AdvertisementError extends Error {
  constructor(message: string, readonly server = false) {
    super(message);
  }
}

const OBJECT_ID = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const decoder = new TextDecoder('utf-8');

/** The payloads of the pkt-lines in `body`; null stands for a flush (`0000`) or delimiter packet. */
export function pktLines(body: Uint8Array): (Uint8Array | null)[] {
  const out: (Uint8Array | null)[] = [];
  let at = 0;
  while (at < body.length) {
    if (at + 4 > body.length) throw new AdvertisementError('malformed ref advertisement: truncated packet length');
    const hex = String.fromCharCode(body[at]!, body[at + 1]!, body[at + 2]!, body[at + 3]!);
    if (!/^[0-9a-f]{4}$/i.test(hex)) throw new AdvertisementError('malformed ref advertisement: bad packet length (not a smart git server?)');
    const len = Number.parseInt(hex, 16);
    if (len < 4) {
      out.push(null); // 0000 flush, 0001 delimiter, 0002 response end
      at += 4;
      continue;
    }
    if (at + len > body.length) throw new AdvertisementError('malformed ref advertisement: packet runs past the end (cut short?)');
    out.push(body.subarray(at + 4, at + len));
    at += len;
  }
  return out;
}

/** Parses the body of an `info/refs?service=git-upload-pack` reply into refs, peeled ids and HEAD's branch. */
export function parseAdvertisement(body: Uint8Array): AdvertisedRefs {
  const result: AdvertisedRefs = { refs: new Map(), peeled: new Map() };
  const packets = pktLines(body);
  let i = 0;
  const text = (p: Uint8Array) => decoder.decode(p).replace(/\n$/, '');
  // `# service=git-upload-pack` and its flush come first from every smart server.
  const first = packets[0];
  if (first && text(first).startsWith('# service=')) {
    if (text(first) !== '# service=git-upload-pack') throw new AdvertisementError(`unexpected service in ref advertisement: ${text(first).slice(2, 60)}`);
    if (packets[1] !== null) throw new AdvertisementError('malformed ref advertisement: no flush after the service line');
    i = 2;
  }
  let sawRefs = false;
  let sawEnd = false;
  for (; i < packets.length; i++) {
    const p = packets[i];
    if (p === null || p === undefined) {
      sawEnd = true;
      break;
    }
    const line = text(p);
    if (line.startsWith('ERR ')) throw new AdvertisementError(`the server said: ${line.slice(4).trim().slice(0, 200)}`, true);
    if (!sawRefs && line === 'version 1') continue;
    if (!sawRefs && line === 'version 2') throw new AdvertisementError('the server answered with protocol v2, which was not asked for');
    const nul = line.indexOf('\0');
    const refPart = nul >= 0 ? line.slice(0, nul) : line;
    if (nul >= 0 && !sawRefs) readCapabilities(line.slice(nul + 1), result);
    sawRefs = true;
    const sp = refPart.indexOf(' ');
    const id = refPart.slice(0, sp);
    const name = refPart.slice(sp + 1);
    if (sp <= 0 || !OBJECT_ID.test(id) || name === '') throw new AdvertisementError(`malformed ref line in advertisement: ${JSON.stringify(refPart.slice(0, 80))}`);
    if (name === 'capabilities^{}') continue; // an empty repository: capabilities only, no refs
    if (name.startsWith('.have')) continue;
    if (name.endsWith('^{}')) result.peeled.set(name.slice(0, -3), id);
    else result.refs.set(name, id);
  }
  // A reply cut short between packets still parses: only the closing flush proves the list is complete.
  if (!sawEnd) throw new AdvertisementError('ref advertisement ended without its closing flush (cut short?)');
  return result;
}

function readCapabilities(caps: string, result: AdvertisedRefs): void {
  for (const cap of caps.split(' ')) {
    const m = /^symref=HEAD:refs\/heads\/(.+)$/.exec(cap);
    if (m?.[1]) result.defaultBranch = m[1];
  }
}

/** Only the tags (refs/tags/*), as `git ls-remote --tags` lists them. */
export function onlyTags(l: AdvertisedRefs): AdvertisedRefs {
  const keep = (m: Map<string, string>) => new Map([...m].filter(([name]) => name.startsWith('refs/tags/')));
  return { refs: keep(l.refs), peeled: keep(l.peeled) };
}
