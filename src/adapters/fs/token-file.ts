// The mirror token file and the URL facts derived from the mirror URL.
import { readRegularText } from './read-file.js';
import { ConfigError, messageOf } from '../../core/errors.js';
import { registerSecret } from '../log.js';

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Reads the mirror token. Refuses a file that group or others can read (a leaked token can push to every
 * mirror), trims it, and registers it so scrub() removes it from every log line, error and report.
 */
export function readTokenFile(path: string, what = 'mirror token'): string {
  let mode = 0;
  let text: string;
  try {
    // Followed when a symlink (credentials folders link them); a FIFO or device is refused, never read.
    text = readRegularText(path, { follow: true, onStat: (st) => { mode = st.mode; } });
  } catch (err) {
    throw new ConfigError(`cannot read ${what} file ${path}: ${messageOf(err)}`);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new ConfigError(`${what} file ${path} is readable by group or others (mode ${octal}); run: chmod 600 ${path}`);
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  // A second line would go into an HTTP header (and could be a second secret): the token is one line.
  if (lines.length > 1) {
    throw new ConfigError(`${what} file ${path} has ${lines.length} non-empty lines; it must hold the token alone on one line`);
  }
  const token = lines[0];
  // A lone CR, a NUL or any other control character would end or split the HTTP header it is sent in.
  if (token && CONTROL.test(token)) {
    throw new ConfigError(`${what} file ${path} contains a control character (CR, NUL, tab...); it must hold the token alone on one line`);
  }
  if (!token) throw new ConfigError(`${what} file ${path} is empty; put the ${what === 'mirror token' ? 'Gitea access token' : what} in it`);
  registerSecret(token);
  return token;
}

/**
 * For commands that do not use the mirror (`run --no-sync`, `plan --offline`, `explain`): registers the
 * configured token as a secret all the same, so it is scrubbed from every log line and harness.log. A
 * file that is absent or that this user cannot read is skipped; one that is malformed is refused as usual.
 */
export function registerTokenFileSecret(path: string, what = 'mirror token'): void {
  try {
    readRegularText(path, { follow: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') return;
  }
  readTokenFile(path, what);
}

function parse(mirrorUrl: string): URL {
  try {
    return new URL(mirrorUrl);
  } catch {
    throw new ConfigError(`mirror URL ${mirrorUrl} is not a URL; use https://host/owner/{recipe}.git`);
  }
}

/** Gitea API base for a mirror URL: its origin + /api/v1. */
export function giteaApiFor(mirrorUrl: string): string {
  const u = parse(mirrorUrl);
  if (!/^https?:$/.test(u.protocol)) {
    throw new ConfigError(`cannot derive the Gitea API from mirror URL ${mirrorUrl}; set --gitea-api`);
  }
  return `${u.origin}/api/v1`;
}

/** Gitea owner and repo: the last two path segments of the mirror URL, without `.git`. */
export function ownerRepoOf(mirrorUrl: string): { owner: string; repo: string } {
  const parts = parse(mirrorUrl).pathname.split('/').filter(Boolean);
  const repo = parts.at(-1)?.replace(/\.git$/, '');
  const owner = parts.at(-2);
  if (!owner || !repo) throw new ConfigError(`mirror URL ${mirrorUrl} does not end in /owner/repo.git`);
  return { owner: decodeURIComponent(owner), repo: decodeURIComponent(repo) };
}
