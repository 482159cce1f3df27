// Runs git for mirror-sync: argument arrays only, explicit cwd, never a shell. The mirror token reaches git
// only through the environment (an http.<origin>.extraHeader set via GIT_CONFIG_*), never argv or a URL,
// and is scoped to the mirror's origin so it cannot be sent to upstream or to a redirect target.
import { GitError } from '../errors.js';
import { gitEnv } from '../git.js';
import { scrub } from '../log.js';
import { AuthFailure, TransientError } from './retry.js';

export interface GitOpts {
  cwd: string;
  /** Sent as `Authorization: token <T>`, to the origin of `authUrl` only. */
  token?: string;
  /** URL whose origin receives the token (the mirror URL). */
  authUrl?: string;
  timeoutMs?: number;
  input?: string;
  /** Exit codes that are answers, not failures (e.g. 1 for merge-base --is-ancestor). */
  okCodes?: number[];
}

export interface GitResult {
  stdout: string;
  exitCode: number;
}

/**
 * Environment for one git process: the sweep's shared git environment (no prompts, C locale for the
 * messages matched below, stalled transfers bounded) plus the token, if any, as a URL-scoped extra header.
 */
function mirrorGitEnv(token: string | undefined, authUrl: string | undefined): Record<string, string> {
  const env: Record<string, string> = gitEnv({ GCM_INTERACTIVE: 'never' });
  if (token && authUrl && /^https?:/i.test(authUrl)) {
    // Append to any GIT_CONFIG_* the caller's environment already carries instead of replacing it.
    const n = Number.parseInt(process.env.GIT_CONFIG_COUNT ?? '0', 10) || 0;
    env.GIT_CONFIG_COUNT = String(n + 1);
    env[`GIT_CONFIG_KEY_${n}`] = `http.${new URL(authUrl).origin}/.extraHeader`;
    env[`GIT_CONFIG_VALUE_${n}`] = `Authorization: token ${token}`;
  }
  return env;
}

/** HTTP status git reported, if any ("The requested URL returned error: 503", "RPC failed; HTTP 502"). */
function httpStatus(stderr: string): number | undefined {
  const m = /returned error: (\d{3})|RPC failed; HTTP (\d{3})/.exec(stderr);
  const code = m?.[1] ?? m?.[2];
  return code ? Number(code) : undefined;
}

const NETWORK_TROUBLE =
  /Could not resolve host|Failed to connect|Connection (refused|reset|timed out)|Operation timed out|Empty reply from server|early EOF|remote end hung up|transfer closed|Recv failure|Send failure|SSL|gnutls/i;

/** Auth failures surface in different words depending on git version and whether prompting is off. */
const AUTH_TROUBLE = /Authentication failed|could not read (Username|Password)|returned error: 40[13]|HTTP 40[13]/i;

// git runs its transport (git-remote-http) as a child that holds our stderr pipe; killing git alone on a
// timeout would leave that child, and us, waiting on a stalled connection. So each git gets its own
// process group, killed whole on timeout and when this process exits.
const liveGroups = new Set<number>();
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
let exitHooked = false;

/** Runs git; throws TransientError for retry-worthy network failures and GitError for the rest. */
export async function runGit(args: string[], opts: GitOpts): Promise<GitResult> {
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => liveGroups.forEach(killGroup));
  }
  // Loaded on first use: plan without a mirror never runs git through here.
  const { execa } = await import('execa');
  const sub = execa('git', args, {
    cwd: opts.cwd,
    env: mirrorGitEnv(opts.token, opts.authUrl),
    detached: true,
    reject: false,
    stripFinalNewline: true,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
  });
  const pid = sub.pid;
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  if (pid !== undefined) {
    liveGroups.add(pid);
    if (opts.timeoutMs) timer = setTimeout(() => { timedOut = true; killGroup(pid); }, opts.timeoutMs);
  }
  const r = await sub;
  clearTimeout(timer);
  if (pid !== undefined) liveGroups.delete(pid);
  const code = r.exitCode;
  if (code === 0 || (code !== undefined && opts.okCodes?.includes(code))) return { stdout: r.stdout, exitCode: code };
  const cmd = `git ${args[0] ?? ''}`;
  if (timedOut) throw new TransientError(`${cmd} timed out after ${opts.timeoutMs} ms`);
  const stderr = r.stderr.trim();
  // Keep the lines that say what went wrong; git's progress chatter is noise in a one-line report.
  const lines = stderr.split('\n').filter((l) => /^(fatal|error|remote: error|\s*! )|rejected/i.test(l));
  const detail = scrub((lines.length ? lines : stderr.split('\n').slice(-2)).join('; ').trim() || (r.shortMessage ?? `exit ${code ?? r.signal}`));
  const status = httpStatus(stderr);
  const msg = `${cmd} failed: ${detail}`;
  if (AUTH_TROUBLE.test(stderr)) throw new AuthFailure(`${cmd} failed: the remote refused the credentials (${detail})`);
  if (status !== undefined) {
    if (status >= 500 || status === 429) throw new TransientError(msg);
    throw new GitError(msg);
  }
  if (NETWORK_TROUBLE.test(stderr)) throw new TransientError(msg);
  throw new GitError(msg);
}
