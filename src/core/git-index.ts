// Reading git's index file (`.git/index`, format versions 2, 3 and 4) for one thing only: the entries git
// is told not to look at, which `git status` does not report (`update-index --assume-unchanged` sets the
// entry's assume-valid bit, `--skip-worktree` its extended skip-worktree bit). What `git ls-files -v`
// tags lower-case (assume-valid) or `S` (skip-worktree only), in index order. Pure: bytes in (their
// trailing checksum checked by the caller); null for anything this reader does not handle with certainty
// (another version, a split or sparse index, a truncated file), and the caller asks git instead.

export interface HiddenEntry {
  path: string;
  /** What `ls-files -v` shows: assume-valid wins (lower case), skip-worktree alone is `S`. */
  kind: 'assume-unchanged' | 'skip-worktree';
}

const ASSUME_VALID = 0x8000;
const EXTENDED = 0x4000;
const SKIP_WORKTREE = 0x4000;
const STAGE = 0x3000;
const NAME_LENGTH = 0x0fff;
/** ctime, mtime (sec+nsec each), dev, ino, mode, uid, gid, size: ten 32-bit fields before the object id. */
const STAT_BYTES = 40;

/** The hidden entries of an index whose object ids are `hashBytes` long (20 for SHA-1, 32 for SHA-256). */
export function hiddenIndexEntries(index: Buffer, hashBytes: 20 | 32): HiddenEntry[] | null {
  if (index.length < 12 + hashBytes || index.toString('latin1', 0, 4) !== 'DIRC') return null;
  const version = index.readUInt32BE(4);
  if (version < 2 || version > 4) return null;
  const count = index.readUInt32BE(8);
  const end = index.length - hashBytes;
  const hidden: HiddenEntry[] = [];
  let at = 12;
  let previous: Buffer = Buffer.alloc(0);
  for (let i = 0; i < count; i++) {
    const start = at;
    at += STAT_BYTES + hashBytes;
    if (at + 2 > end) return null;
    const flags = index.readUInt16BE(at);
    at += 2;
    let extended = 0;
    if (flags & EXTENDED) {
      if (version < 3 || at + 2 > end) return null;
      extended = index.readUInt16BE(at);
      at += 2;
    }
    // git reads the name length from the flags (12 bits; all ones: longer, up to the NUL). A file whose NUL
    // is elsewhere is one git and this reader would cut differently: git is asked instead.
    const length = flags & NAME_LENGTH;
    let name: Buffer;
    if (version === 4) {
      // The path is the previous one minus N trailing bytes, plus a NUL-terminated suffix; no padding.
      let c = index[at++];
      if (c === undefined) return null;
      let strip = c & 0x7f;
      while (c & 0x80) {
        c = index[at++];
        if (c === undefined || strip > 0xffffff) return null;
        strip = ((strip + 1) << 7) + (c & 0x7f);
      }
      const nul = index.indexOf(0, at);
      if (nul < 0 || nul >= end || strip > previous.length) return null;
      name = Buffer.concat([previous.subarray(0, previous.length - strip), index.subarray(at, nul)]);
      at = nul + 1;
    } else {
      const nul = index.indexOf(0, at);
      if (nul < 0 || nul >= end) return null;
      name = index.subarray(at, nul);
      // 1 to 8 NUL bytes pad each entry to a multiple of 8.
      at = start + ((nul - start + 8) & ~7);
      if (at > end) return null;
    }
    if (length < NAME_LENGTH ? name.length !== length : name.length < NAME_LENGTH) return null;
    previous = name;
    if (flags & ASSUME_VALID) hidden.push({ path: name.toString('utf8'), kind: 'assume-unchanged' });
    // ls-files tags an unmerged entry (stage 1-3) as unmerged, whatever its skip-worktree bit says.
    else if (extended & SKIP_WORKTREE && (flags & STAGE) === 0) hidden.push({ path: name.toString('utf8'), kind: 'skip-worktree' });
  }
  // Extensions: a split index keeps entries in another file, a sparse index folds folders into one entry.
  while (at + 8 <= end) {
    const sig = index.toString('latin1', at, at + 4);
    const size = index.readUInt32BE(at + 4);
    if (sig === 'link' || sig === 'sdir') return null;
    at += 8 + size;
  }
  return at === end ? hidden : null;
}
