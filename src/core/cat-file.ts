// Parsing `git cat-file --batch` output: for each request line, in order, either
// `<id> SP <type> SP <size> LF <size bytes of content> LF`, or `<request> SP missing LF` (or `ambiguous`).
// The content is arbitrary bytes (a compose file in UTF-8, a tree in binary), so it is cut by its byte
// size, never by looking for newlines, and only the headers are decoded (latin1: one char per byte, and
// an object id or type is ASCII anyway). Pure: bytes in, objects out.

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export interface BatchObject {
  id: string;
  type: ObjectType;
  content: Buffer;
}

export class CatFileParseError extends Error {}

const FOUND = /^([0-9a-f]{40}|[0-9a-f]{64}) (commit|tree|blob|tag) (\d+)$/;
/** Answers without a body: the request names nothing (or more than one thing) in this repository. */
const ABSENT = / (missing|ambiguous)$/;

/** The `count` answers in `out`: the object, or null when the repository lacks it. */
export function parseCatFileBatch(out: Buffer, count: number): (BatchObject | null)[] {
  const objects: (BatchObject | null)[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const eol = out.indexOf(0x0a, at);
    if (eol < 0) throw new CatFileParseError(`git cat-file --batch: answer ${i + 1} of ${count} is missing or cut short`);
    const header = out.toString('latin1', at, eol);
    const m = FOUND.exec(header);
    if (m) {
      const size = Number(m[3]);
      const end = eol + 1 + size;
      if (!Number.isSafeInteger(size) || end >= out.length || out[end] !== 0x0a) {
        throw new CatFileParseError(`git cat-file --batch: the content of ${m[1]} is cut short (${size} bytes announced)`);
      }
      objects.push({ id: m[1]!, type: m[2] as ObjectType, content: out.subarray(eol + 1, end) });
      at = end + 1;
    } else if (ABSENT.test(header)) {
      objects.push(null);
      at = eol + 1;
    } else {
      throw new CatFileParseError(`git cat-file --batch: unexpected answer "${header.slice(0, 120)}"`);
    }
  }
  if (at !== out.length) throw new CatFileParseError(`git cat-file --batch: ${out.length - at} bytes after the last of ${count} answers`);
  return objects;
}
