// The git adapter: every git process of the sweep starts in runGit(). Argument arrays only (never a shell),
// an explicit cwd, the C locale, no prompts, a wall-clock deadline and the sweep's AbortSignal, both of
// which stop git's whole process group (its transport helpers included), retries for transient network
// trouble only, git's own `fatal:`/`error:` line in errors, and secrets scrubbed from every message.
//
// Git works in exactly the directory it is given: calls on a clone pass `--git-dir=<clone>/.git` and
// `--work-tree=<clone>` explicitly, so a clone whose .git is missing or corrupt fails with "clone is not a
// git repository (or is corrupt)" instead of git discovering a repository above it (a dotfiles home), and
// the operator's GIT_DIR, GIT_WORK_TREE, GIT_NAMESPACE... never redirect a call (see gitEnv()).
//
// The recipe clones on the host have inconsistent remotes (origin is the mirror in one, upstream in
// another), so nothing here reads or writes a clone's configured remotes: fetches take a URL and refspecs.

import { createHash } from 'node:crypto';
import { existsSync, lstatSync, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ChildProcess, spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mayAct } from './effects.js';
import { ensureDir } from './fs/atomic-file.js';
import { ConfigError, GitError, messageOf } from '../core/errors.js';
import type { Logger } from './log.js';
import { scrub } from './log.js';
import { AuthFailure, DEFAULT_RETRY, type RetryPolicy, TransientError, withRetry } from './retry.js';
import { type Listing, parseLsRemote, tagTargets } from '../core/refs.js';
import { type BatchObject, CatFileParseError, type ObjectType, parseCatFileBatch } from '../core/cat-file.js';
import { type HiddenEntry, hiddenIndexEntries } from '../core/git-index.js';
import { readRegularFile, readRegularText } from './fs/read-file.js';
import { type HttpRefsOptions, listRefsHttp, NotSmartHttp } from './http-refs.js';
import { proxyInEffect } from './http-transport.js';
import { later } from './timers.js';

export const DEFAULT_TIMEOUT_MS = 120_000;
/** What git may write to stdout in one call before it is stopped (as much as execa allowed before). */
const MAX_OUTPUT_BYTES = 100 * 1024 * 1024;
/** After SIGTERM (git removes its lock files on it), how long git's group has before SIGKILL. */
const KILL_GRACE_MS = 2_000;

// ---------------------------------------------------------------------------------------------------------
// Environment

/**
 * Removed from git's environment. Repository location and discovery: the sweep names every repository
 * itself. Context git sets for its own children (hooks, aliases): GIT_EXEC_PATH of another git would mix
 * two installations. Interactive helpers and tracing: nothing may prompt, page or write traces into the
 * output we parse. Everything else passes: the operator's configuration (GIT_CONFIG_GLOBAL,
 * GIT_CONFIG_SYSTEM, GIT_CONFIG_COUNT/KEY/VALUE, GIT_CONFIG_PARAMETERS), proxies, ssh and TLS settings.
 */
const REMOVED_EXACT = new Set([
  'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_NAMESPACE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR', 'GIT_CEILING_DIRECTORIES', 'GIT_DISCOVERY_ACROSS_FILESYSTEM', 'GIT_SHALLOW_FILE', 'GIT_GRAFT_FILE',
  'GIT_REPLACE_REF_BASE', 'GIT_NO_REPLACE_OBJECTS', 'GIT_QUARANTINE_PATH', 'GIT_PREFIX', 'GIT_EXEC_PATH',
  'GIT_REFLOG_ACTION', 'GIT_LITERAL_PATHSPECS', 'GIT_GLOB_PATHSPECS', 'GIT_NOGLOB_PATHSPECS', 'GIT_ICASE_PATHSPECS',
  'GIT_EXTERNAL_DIFF', 'GIT_DIFF_OPTS', 'GIT_PAGER', 'PAGER', 'EDITOR', 'VISUAL', 'GIT_EDITOR', 'GIT_SEQUENCE_EDITOR',
  'LANGUAGE',
]);
const REMOVED_PREFIX = ['GIT_TRACE', 'GIT_INTERNAL_'];

export function isRemovedFromGit(name: string): boolean {
  return REMOVED_EXACT.has(name) || REMOVED_PREFIX.some((p) => name.startsWith(p));
}

// The sweep's environment is one object for a whole run, and a run starts hundreds of git processes.
const cleaned = new WeakMap<NodeJS.ProcessEnv, Readonly<Record<string, string>>>();

/**
 * `base` without what isRemovedFromGit() names, plus the settings every git call gets. Computed once per
 * frozen object (the CLI's environment is one); an object that may still change is read every time.
 */
function cleanedFor(base: NodeJS.ProcessEnv): Readonly<Record<string, string>> {
  let env = cleaned.get(base);
  if (env) return env;
  const frozen = Object.isFrozen(base);
  const out: Record<string, string> = { GIT_HTTP_LOW_SPEED_LIMIT: '1000', GIT_HTTP_LOW_SPEED_TIME: '60' };
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !isRemovedFromGit(k)) out[k] = v;
  // Replace refs and grafts make git show another commit's tree and parents under a commit's id: the sweep
  // would test one tree and record another commit. Off for every call (an operator's
  // core.useReplaceRefs=true is overridden on the command line, see NO_REPLACE).
  Object.assign(out, { GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never', LC_ALL: 'C', GIT_NO_REPLACE_OBJECTS: '1', GIT_GRAFT_FILE: '/dev/null' });
  env = Object.freeze(out);
  if (frozen) cleaned.set(base, env);
  return env;
}

/**
 * The environment of one git process: `base` (the sweep's environment) minus what isRemovedFromGit()
 * names, with prompts off, the C locale, stalled transfers bounded by git itself (an operator's own
 * low-speed settings win), the mirror token as a URL-scoped extra header when given, and `extra`.
 */
export function gitEnv(
  base: NodeJS.ProcessEnv,
  opts: { token?: string; authUrl?: string; extra?: Record<string, string> } = {},
): Record<string, string> {
  const env = { ...cleanedFor(base) };
  if (opts.token && opts.authUrl && /^https?:/i.test(opts.authUrl)) {
    // Appended to the GIT_CONFIG_* entries the operator's environment already carries. Scoped to the
    // mirror's origin, so it is never sent to upstream or to a redirect target. Never argv, never a URL.
    const n = Number.parseInt(base.GIT_CONFIG_COUNT ?? '0', 10) || 0;
    env.GIT_CONFIG_COUNT = String(n + 1);
    env[`GIT_CONFIG_KEY_${n}`] = `http.${new URL(opts.authUrl).origin}/.extraHeader`;
    env[`GIT_CONFIG_VALUE_${n}`] = `Authorization: token ${opts.token}`;
  }
  return { ...env, ...opts.extra };
}

// ---------------------------------------------------------------------------------------------------------
// Running git

export interface GitCall {
  /** A clone: git works on exactly `<repo>/.git` with `<repo>` as its work tree, and runs there. */
  repo?: string;
  /** Where git runs when no repo is given; default a neutral directory (TMPDIR). */
  cwd?: string;
  /** The sweep's environment (required: adapters never read process.env); see gitEnv(). */
  env: NodeJS.ProcessEnv;
  /** Mirror token, sent as `Authorization: token <T>` to the origin of `authUrl` only. */
  token?: string;
  authUrl?: string;
  /** Wall-clock deadline of one attempt; default 120 s. */
  timeoutMs?: number;
  /** The sweep's stop signal: git's process group is stopped at once and nothing is retried. */
  signal?: AbortSignal;
  input?: string;
  /** Exit codes that are answers, not failures (e.g. 1 for merge-base --is-ancestor). */
  okCodes?: number[];
  /** Retry transient network failures with this policy (default: no retry). */
  retry?: RetryPolicy;
  log?: Pick<Logger, 'warn'>;
  /** What the call does, for messages (default `git <subcommand>`). */
  what?: string;
  /** The call only reads (ls-remote, cat-file, status): it also runs in dry-run. Unmarked calls do not. */
  readOnly?: boolean;
  /** `repo` may be a linked worktree whose .git is a gitfile (the cc-ci repo, read for its HEAD only). */
  linkedOk?: boolean;
  /** Most bytes git may write to stdout (default 100 MiB): beyond that git's group is stopped, the call fails. */
  maxOutputBytes?: number;
  /** Other clones' object stores this call may read (GIT_ALTERNATE_OBJECT_DIRECTORIES): reads only. */
  alternates?: readonly string[];
}

export interface GitResult {
  stdout: string;
  exitCode: number;
}

// Process groups of running gits, killed if this process exits while they run.
const liveGroups = new Set<number>();
function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}
let exitHooked = false;
/** Kill every git group still running when this process exits (hooked once, at the first git). */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => liveGroups.forEach((pid) => signalGroup(pid, 'SIGKILL')));
}

/**
 * Secrets registered with the logger, and the password part of any URL, never appear in a message. The
 * credentials end at the authority's LAST '@' (as for a URL parser, git and curl: `u:p@ss@host`).
 */
export function redact(text: string): string {
  return scrub(text).replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi, '$1***@');
}

/** A directory to run URL-only commands in. A TMPDIR that does not exist is named as the problem. */
export function neutralDir(env: NodeJS.ProcessEnv): string {
  // The environment the sweep was given, not necessarily this process's own.
  const dir = env.TMPDIR ? path.resolve(env.TMPDIR) : tmpdir();
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) {
    const from = env.TMPDIR ? `TMPDIR=${env.TMPDIR}` : `the temporary directory ${dir}`;
    throw new ConfigError(`${from} does not exist or is not a directory: create it or set TMPDIR to one that exists`);
  }
  return dir;
}

/** Command-line config is read last, so it beats a core.useReplaceRefs=true in any file or GIT_CONFIG_* entry. */
const NO_REPLACE = ['-c', 'core.useReplaceRefs=false'];

/** The argv prefix that pins git to `<dir>/.git` and `<dir>`: no discovery, no redirection. */
function pinned(dir: string): string[] {
  const abs = path.resolve(dir);
  return [`--git-dir=${path.join(abs, '.git')}`, `--work-tree=${abs}`];
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

const notARepo = (dir: string) => new GitError(`clone is not a git repository (or is corrupt): ${path.resolve(dir)}`);

/**
 * `--git-dir=<clone>/.git` is not enough: git follows a `.git` that is a gitfile or a symlink, and a
 * `commondir` file inside it, so such a clone would make the sweep fetch into and tag ANOTHER repository.
 * The clone's `.git` must be a real directory with no `commondir`, checked on every call (cheap, and a
 * harness may swap it during a run). Those are the only ways a given git dir leads elsewhere (the
 * environment's GIT_COMMON_DIR, GIT_DIR... are removed, see gitEnv()); a `.git` folder that is not a
 * repository fails the call itself ("clone is not a git repository"), and git never looks above it.
 * So no `git rev-parse` confirms it: that was one more process per clone for nothing the files don't say.
 */
function verifyOwnGitDir(dir: string): void {
  const abs = path.resolve(dir);
  const gitDir = path.join(abs, '.git');
  try {
    const st = lstatSync(gitDir);
    if (!st.isDirectory() || st.isSymbolicLink()) throw notARepo(abs);
  } catch {
    throw notARepo(abs);
  }
  let hasCommondir = true;
  try {
    lstatSync(path.join(gitDir, 'commondir'));
  } catch {
    hasCommondir = false;
  }
  if (hasCommondir) throw notARepo(abs);
}

/** Runs git once or, with `retry`, until a non-transient outcome. */
export async function runGit(args: string[], call: GitCall): Promise<GitResult> {
  const { stdout, exitCode } = await runGitBytes(args, call);
  return { stdout: stripFinalNewline(stdout.toString('utf8')), exitCode };
}

/** runGit() with git's output as it wrote it: bytes, final newline included (for binary-safe parsing). */
async function runGitBytes(args: string[], call: GitCall): Promise<{ stdout: Buffer; exitCode: number }> {
  const what = call.what ?? `git ${args[0] ?? ''}`;
  mayAct(redact(`run ${what}`), call.readOnly ? 'read' : 'write');
  const once = () => runOnce(args, call, what);
  return call.retry ? withRetry(what, call.retry, call.log, once, call.signal) : once();
}

async function runOnce(args: string[], call: GitCall, what: string): Promise<{ stdout: Buffer; exitCode: number }> {
  if (call.signal?.aborted) throw new GitError(`${redact(what)}: not started, the sweep was stopped`);
  let cwd: string;
  let argv = args;
  if (call.repo !== undefined) {
    if (!isDirectory(call.repo)) throw new GitError(`recipe clone ${call.repo} does not exist`);
    if (!call.linkedOk) verifyOwnGitDir(call.repo);
    cwd = path.resolve(call.repo);
    argv = [...pinned(call.repo), ...args];
  } else {
    cwd = call.cwd ?? neutralDir(call.env);
  }
  hookExit();
  // Discovery (only ever needed for URL-only commands run in `cwd`) never climbs above `cwd`.
  let ceiling = path.dirname(cwd);
  try {
    ceiling = path.dirname(realpathSync.native(cwd));
  } catch {
    // spawning reports the missing cwd
  }
  const r = await spawnGit([...NO_REPLACE, ...argv], {
    cwd,
    env: gitEnv(call.env, { token: call.token, authUrl: call.authUrl, extra: { GIT_CEILING_DIRECTORIES: ceiling, ...alternatesEnv(call.alternates) } }),
    input: call.input, timeoutMs: call.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: call.signal, maxOutputBytes: call.maxOutputBytes ?? MAX_OUTPUT_BYTES,
  });
  const code = r.exitCode;
  if (!r.stoppedBy && (code === 0 || (code !== null && call.okCodes?.includes(code)))) {
    return { stdout: r.stdout, exitCode: code };
  }
  if (r.stoppedBy === 'signal') throw new GitError(`${redact(what)}: stopped, the sweep was stopped`);
  if (r.stoppedBy === 'timeout') throw new TransientError(`${redact(what)}: timed out after ${r.timeoutMs} ms`);
  if (r.stoppedBy === 'overflow') throw new GitError(`${redact(what)}: git's output is larger than ${r.maxOutputBytes} bytes; stopped`);
  if (r.startError) {
    // Could not start: no git on PATH, or the cwd vanished (both ENOENT).
    const e = r.startError;
    throw new GitError(redact(`${what}: ${e.code === 'ENOENT' && isDirectory(cwd) ? 'git is not on PATH' : `cannot start git (${e.message})`}`));
  }
  if (code === null) throw new GitError(redact(`${what}: git was killed by ${r.signal ?? 'a signal'}`));
  const stderr = r.stderr.toString('utf8').trim();
  if (call.repo !== undefined && /not a git repository/i.test(stderr)) {
    throw new GitError(`clone is not a git repository (or is corrupt): ${path.resolve(call.repo)}`);
  }
  throw classify(what, stderr, code);
}

/** One final newline (LF or CRLF) off the end, as git's callers expect of its output. */
function stripFinalNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

interface Spawned {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stoppedBy: 'timeout' | 'signal' | 'overflow' | null;
  timeoutMs: number;
  maxOutputBytes: number;
  startError: NodeJS.ErrnoException | null;
}

/**
 * One git process on node:child_process directly (a process-manager library costs about a millisecond of
 * synchronous work per call, on the event loop every recipe shares). Its own process group: git's
 * transport helpers hold our pipes, so a deadline or a stop must reach all of them, not git alone; no
 * controlling terminal either, so nothing can prompt. `env` is the whole environment (nothing inherited);
 * `git` is looked up on that environment's PATH.
 */
function spawnGit(
  argv: string[],
  o: { cwd: string; env: Record<string, string>; input?: string; timeoutMs: number; signal?: AbortSignal; maxOutputBytes: number },
): Promise<Spawned> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    const result: Spawned = {
      stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: null, signal: null, stoppedBy: null, timeoutMs: o.timeoutMs, maxOutputBytes: o.maxOutputBytes, startError: null,
    };
    try {
      child = spawn('git', argv, { cwd: o.cwd, env: o.env, detached: true, stdio: [o.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // Synchronous refusals (a NUL byte in an argument): nothing started.
      resolve({ ...result, startError: err as NodeJS.ErrnoException });
      return;
    }
    const pid = child.pid;
    const out: Buffer[] = [];
    const errs: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout!.on('data', (b: Buffer) => {
      outBytes += b.length;
      // Never unbounded in memory (a hostile upstream's huge compose file): stop git instead.
      if (outBytes > o.maxOutputBytes) stop('overflow');
      else out.push(b);
    });
    child.stderr!.on('data', (b: Buffer) => {
      // Git's last words say what went wrong: of a flood of warnings only the last MiB or so is kept.
      errs.push(b);
      errBytes += b.length;
      while (errBytes > 1024 * 1024 && errs.length > 1) errBytes -= errs.shift()!.length;
    });
    if (o.input !== undefined) {
      // git may exit without reading all of it (a bad option): EPIPE is not news, its exit status is.
      child.stdin!.on('error', () => {});
      child.stdin!.end(o.input);
    }
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'signal' | 'overflow') => {
      if (result.stoppedBy || pid === undefined) return;
      result.stoppedBy = why;
      signalGroup(pid, 'SIGTERM');
      killTimer = later(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const deadline = pid !== undefined && o.timeoutMs > 0 ? later(() => stop('timeout'), o.timeoutMs) : undefined;
    const onAbort = () => stop('signal');
    if (pid !== undefined) {
      liveGroups.add(pid);
      // Every concurrent git of a sweep listens to the one stop signal: that is by design, not a leak.
      if (o.signal) setMaxListeners(0, o.signal);
      o.signal?.addEventListener('abort', onAbort, { once: true });
    }
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(killTimer);
      o.signal?.removeEventListener('abort', onAbort);
      if (pid !== undefined) {
        liveGroups.delete(pid);
        // Anything git left in its group (a transport helper on its way out) goes with it.
        if (result.stoppedBy) signalGroup(pid, 'SIGKILL');
      }
      result.stdout = Buffer.concat(out);
      result.stderr = Buffer.concat(errs);
      resolve(result);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Could not start (no git on PATH, the cwd vanished); once started, its exit status says it all.
      if (pid !== undefined) return;
      result.startError = err;
      settle();
    });
    // 'close': git has exited and every pipe it (or a helper of its group) held is closed.
    child.once('close', (code: number | null, sig: NodeJS.Signals | null) => {
      result.exitCode = code;
      result.signal = sig;
      settle();
    });
  });
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

/** git's own words for what went wrong: its fatal/error lines (the last line is often just "Aborting"). */
export function gitReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter(Boolean);
  const said = lines.filter((l) => /^(fatal|error|remote: error):|^\s*! |\[rejected\]|\[remote rejected\]/i.test(l));
  const fatal = said.filter((l) => l.startsWith('fatal:'));
  const pick = said.length > 0 ? [...fatal, ...said.filter((l) => !l.startsWith('fatal:'))] : lines.slice(-2);
  return pick.join('; ').trim();
}

function classify(what: string, stderr: string, code: number): Error {
  const detail = redact(gitReason(stderr) || `exit ${code}`);
  const msg = `${redact(what)} failed: ${detail}`;
  if (AUTH_TROUBLE.test(stderr)) return new AuthFailure(`${redact(what)} failed: the remote refused the credentials (${detail})`);
  const status = httpStatus(stderr);
  if (status !== undefined) return status >= 500 || status === 429 ? new TransientError(msg) : new GitError(msg);
  if (NETWORK_TROUBLE.test(stderr)) return new TransientError(msg);
  return new GitError(msg);
}

// ---------------------------------------------------------------------------------------------------------
// Remote listings: one parser for every `git ls-remote`

/** What a listing needs, git's or in-process (the in-process options, without what is asked). */
export type RemoteOpts = Omit<HttpRefsOptions, 'symref' | 'tagsOnly'>;

/** Everything a remote advertises (with HEAD's symref when `symref`), in one connection. */
export async function lsRemote(url: string, opts: RemoteOpts & { symref?: boolean; tagsOnly?: boolean }): Promise<Listing> {
  if (await listsInProcess(url, opts.env)) {
    try {
      return await listRefsHttp(url, { retry: DEFAULT_RETRY, ...opts });
    } catch (err) {
      if (!(err instanceof NotSmartHttp)) throw err;
      // A "dumb" HTTP server: git knows that protocol, we do not.
    }
  }
  // '--' so a configured URL can never be read as an option.
  const args = ['ls-remote', ...(opts.symref ? ['--symref'] : []), ...(opts.tagsOnly ? ['--tags'] : []), '--', url];
  const { stdout } = await runGit(args, { retry: DEFAULT_RETRY, ...opts, what: `git ls-remote ${url}`, readOnly: true });
  return parseLsRemote(stdout);
}

/** Upstream's tags (tag -> fully peeled object) with one read-only connection. */
export async function lsRemoteTags(url: string, opts: RemoteOpts): Promise<Map<string, string>> {
  return tagTargets(await lsRemote(url, { ...opts, tagsOnly: true }));
}

/** Upstream's default branch, from `ls-remote --symref <url> HEAD`. */
export async function remoteDefaultBranch(url: string, opts: RemoteOpts): Promise<string> {
  const branch = (await listsInProcess(url, opts.env))
    ? (await lsRemote(url, { ...opts, symref: true })).defaultBranch
    : parseLsRemote((await runGit(['ls-remote', '--symref', '--', url, 'HEAD'], { retry: DEFAULT_RETRY, ...opts, what: `git ls-remote --symref ${url}`, readOnly: true })).stdout).defaultBranch;
  if (!branch) throw new GitError(redact(`${url} does not advertise a default branch (HEAD symref)`));
  return branch;
}

/**
 * Whether refs of `url` are listed in-process (src/adapters/http-refs.ts) instead of by `git ls-remote`:
 * for http(s) URLs, unless the operator's setup would make git's request differ from ours. That is git
 * configuration for HTTP, URL rewriting or credentials (asked of git itself, once per environment: every
 * file and variable git reads counts), curl's CA and proxy variables that Node does not read, and a proxy
 * that is not an HTTP proxy. In any of those cases git lists, exactly as before.
 */
export async function listsInProcess(url: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!/^https?:\/\//i.test(url)) return false;
  if (gitListsFor(env, url) !== null) return false;
  let probe = configProbes.get(env);
  if (!probe) {
    probe = gitHttpConfig(env);
    configProbes.set(env, probe);
  }
  const entries = await probe;
  return entries !== null && !entries.some((e) => configApplies(e, url));
}

const gitOnlyVariable = new WeakMap<NodeJS.ProcessEnv, string | null>();
const configProbes = new WeakMap<NodeJS.ProcessEnv, Promise<{ key: string; value: string }[] | null>>();
// CA files (GIT_SSL_CAINFO, SSL_CERT_FILE, SSL_CERT_DIR...) are trusted in-process too; see http-transport.ts.
const CURL_ENV = ['all_proxy', 'ALL_PROXY'];

/** The environment variable that makes git's HTTP differ from ours, or null. */
export function gitListsFor(env: NodeJS.ProcessEnv, url: string): string | null {
  // The variables are looked through once per environment (a plan asks once per recipe).
  let named = gitOnlyVariable.get(env);
  if (named === undefined) {
    named = Object.entries(env).find(([k, v]) => v !== undefined && v !== '' &&
      (CURL_ENV.includes(k) || /^GIT_(SSL_(?!CAINFO$)|PROXY|CURL_|ASKPASS$|COOKIE)|^GIT_HTTP_(?!LOW_SPEED_)/.test(k) || k === 'SSH_ASKPASS'))?.[0] ?? null;
    gitOnlyVariable.set(env, named);
  }
  if (named !== null) return named;
  // no_proxy applied first: a SOCKS proxy the host is exempt from is no reason to leave the listing to git.
  const proxy = proxyInEffect(env, url)?.proxy;
  if (proxy && !/^https?:\/\//i.test(proxy)) return 'a proxy that is not http(s)';
  return null;
}

/** git's configuration entries that may bear on an HTTP listing; null when git cannot read its configuration. */
async function gitHttpConfig(env: NodeJS.ProcessEnv): Promise<{ key: string; value: string }[] | null> {
  try {
    const { stdout } = await runGit(['config', '--get-regexp', '^(http|url|credential|protocol)\\.|^core\\.askpass$'], { env, okCodes: [1], what: 'git config', readOnly: true });
    return stdout.split('\n').filter(Boolean).map((l) => {
      const sp = l.indexOf(' ');
      return sp < 0 ? { key: l, value: '' } : { key: l.slice(0, sp), value: l.slice(sp + 1) };
    });
  } catch {
    return null; // let git list, and say what is wrong there
  }
}

/** Does this configuration entry change what git does for `url`? URL-scoped entries count for matching URLs only. */
function configApplies({ key, value }: { key: string; value: string }, url: string): boolean {
  const k = key.toLowerCase();
  if (k === 'protocol.version' || k.endsWith('.pushinsteadof')) return false;
  if (k.startsWith('url.') && k.endsWith('.insteadof')) return url.startsWith(value);
  const m = /^(http|credential)\.(.+)\.[^.]+$/.exec(key);
  if (!m?.[2]) return true; // http.<var>, credential.helper, protocol.*, core.askpass: every URL
  return urlMatches(m[2], url);
}

/** git's URL matching (http.<url>.*, credential.<url>.*), erring towards "matches". */
function urlMatches(pattern: string, url: string): boolean {
  let p: URL;
  let u: URL;
  try {
    p = new URL(pattern.includes('://') ? pattern : `${new URL(url).protocol}//${pattern}`);
    u = new URL(url);
  } catch {
    return true;
  }
  if (p.protocol !== u.protocol || p.port !== u.port) return false;
  const host = p.hostname.toLowerCase();
  const hostOk = host.startsWith('*.') ? u.hostname.toLowerCase().endsWith(host.slice(1)) : host === u.hostname.toLowerCase();
  return hostOk && u.pathname.startsWith(p.pathname.replace(/\/$/, ''));
}

// ---------------------------------------------------------------------------------------------------------
// Local reads

export type { ObjectType };

/**
 * Peels each revision (an object id or a ref) fully, through every tag object: revision -> the object it
 * finally names and that object's type. Revisions the clone lacks are absent from the result. One process.
 */
export async function peel(repo: string, revisions: string[], opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<Map<string, { id: string; type: ObjectType }>> {
  const out = new Map<string, { id: string; type: ObjectType }>();
  if (revisions.length === 0) return out;
  const { stdout } = await runGit(['cat-file', '--batch-check=%(objectname) %(objecttype)'], {
    ...opts, repo, input: `${revisions.map((r) => `${r}^{}`).join('\n')}\n`, what: `git cat-file in ${repo}`, readOnly: true,
  });
  // One output line per input line, in order ("<rev>^{} missing" for what the clone lacks).
  const lines = stdout.split('\n');
  revisions.forEach((rev, i) => {
    const m = /^([0-9a-f]{40,64}) (commit|tree|blob|tag)$/.exec(lines[i] ?? '');
    if (m) out.set(rev, { id: m[1]!, type: m[2] as ObjectType });
  });
  return out;
}

/** Tags of a local clone (tag -> commit), without the network; tags that are not commits are `notCommits`. */
export async function localTags(cloneDir: string, opts: { env: NodeJS.ProcessEnv }): Promise<{ tags: Map<string, string>; notCommits: string[] }> {
  const { stdout } = await runGit(['for-each-ref', '--format=%(refname:strip=2)', 'refs/tags'], { ...opts, repo: cloneDir, what: `git for-each-ref in ${cloneDir}`, readOnly: true });
  const names = stdout.split('\n').filter(Boolean);
  const peeled = await peel(cloneDir, names.map((n) => `refs/tags/${n}`), opts);
  const tags = new Map<string, string>();
  const notCommits: string[] = [];
  for (const n of names) {
    const p = peeled.get(`refs/tags/${n}`);
    if (p?.type === 'commit') tags.set(n, p.id);
    else notCommits.push(n);
  }
  return { tags, notCommits };
}

export async function assertReadableClone(cloneDir: string, opts: { env: NodeJS.ProcessEnv }): Promise<void> {
  await runGit(['rev-parse', '--git-dir'], { ...opts, repo: cloneDir, readOnly: true });
}

// ---------------------------------------------------------------------------------------------------------
// Fetching a release into a clone

/** Where upstream's branch and tags land in a clone: our own namespaces, so the clone's refs are never clobbered. */
export const upstreamTrackingRef = (branch: string): string => `refs/remotes/ccci-upstream/${branch}`;
export const UPSTREAM_TAGS = 'refs/ccci/upstream-tags';

export interface FetchOpts extends RemoteOpts {
  log: Pick<Logger, 'warn'>;
  /** Upstream's default branch as plan listed it; asked of upstream when absent. */
  defaultBranch?: string;
  /** What the run read of every clone before its first test (prefetchReleases()): no process when it suffices. */
  prefetched?: PrefetchedReleases | null;
}

/** The release under test: the commit upstream's tag names, and the text of those of the asked files it holds. */
export interface Release {
  commit: string;
  /** Top-level files of the commit (blobs only), read from git, not from disk. */
  files: Map<string, string>;
  /** Known from the run's prefetch and the clone's ref files alone: no git process asked the clone. */
  fromPrefetch?: boolean;
}

/**
 * Brings upstream's default branch and the one tag under test into the clone from the explicit URL,
 * cloning first if the clone is missing, and returns the commit upstream's `tag` finally points to with
 * the text of `opts.files` in it. The tag lands in our own namespace (a tag that moved upstream is tested
 * as upstream has it); a local tag of that name is created when missing and left as it is when it
 * differs. Only this one tag is fetched: a clone lacking thousands of upstream tags costs one small
 * fetch, not all of them. Skips the network when the clone already holds `expected` as a commit under
 * that tag (ours from an earlier fetch, or its own): what is tested is the commit upstream's listing
 * named, and the clone has it. Everything the clone is asked before and after a fetch is asked of one
 * `git cat-file --batch` process.
 */
export async function fetchRelease(cloneDir: string, url: string, tag: string, expected: string, opts: FetchOpts & { files?: readonly string[] }): Promise<Release> {
  const net = { retry: DEFAULT_RETRY, ...opts };
  const names = opts.files ?? [];
  if (!isDirectory(cloneDir)) {
    ensureDir(path.dirname(cloneDir));
    await runGit(['clone', '--quiet', '--', url, path.resolve(cloneDir)], { ...net, what: `git clone ${url}` });
  }
  const pre = opts.prefetched ? factsFromPrefetch(cloneDir, tag, expected, names, opts.prefetched) : null;
  let known = pre ?? await releaseFacts(cloneDir, tag, expected, names, opts);
  const held = known.upstream?.id === expected || (known.local?.id === expected && known.local.type === 'commit');
  if (!held) {
    const branch = opts.defaultBranch ?? (await remoteDefaultBranch(url, opts));
    await runGit(
      ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--recurse-submodules=no', '--', url,
        `+refs/heads/${branch}:${upstreamTrackingRef(branch)}`, `+refs/tags/${tag}:${UPSTREAM_TAGS}/${tag}`],
      { ...net, repo: cloneDir, what: `git fetch ${url} into ${cloneDir}` },
    );
    known = await releaseFacts(cloneDir, tag, expected, names, opts);
    // A tag of a tree or blob is refused below: it never becomes a tag in the operator's clone.
    if (known.upstream?.type === 'commit' && !known.local) {
      // Without '+' and from the clone itself: it can only create the tag, never move one.
      await runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '.', `${UPSTREAM_TAGS}/${tag}:refs/tags/${tag}`],
        { ...opts, repo: cloneDir, what: `cannot create tag ${tag} in ${cloneDir}` });
      opts.log.warn({ tag }, 'created the upstream tag the clone lacked');
      known.local = known.upstream;
    }
  } else if (known.upstream?.id !== expected) {
    // The clone's own tag is the commit upstream's listing names: that is what is tested.
    known.upstream = known.local;
  }
  const up = known.upstream;
  if (up && up.type !== 'commit') throw new NotACommitError(tag, up.type);
  if (up?.id !== expected) throw new GitError(`tag ${tag} moved upstream during the sweep (${expected} -> ${up?.id ?? 'gone'}); run again`);
  if (known.local?.id !== up.id) opts.log.warn({ tag, local: known.local?.id, upstream: up.id }, "the clone's own tag differs from upstream's; testing upstream's");
  return { commit: up.id, files: known.files, ...(pre && held ? { fromPrefetch: true } : {}) };
}

/** The tag under test turned out to point to a tree or blob: it is not a release. */
export class NotACommitError extends GitError {
  constructor(readonly tag: string, readonly type: ObjectType) {
    super(`tag ${tag} points to a ${type}, not a commit: it is not a release`);
  }
}

type Peeled = { id: string; type: ObjectType } | null;
const peeledOf = (o: BatchObject | null | undefined): Peeled => (o ? { id: o.id, type: o.type } : null);

/** What fetchRelease() first asks of a clone: upstream's and the clone's own tag, peeled, and the files. */
interface ReleaseFacts {
  upstream: Peeled;
  local: Peeled;
  files: Map<string, string>;
}

/**
 * The objects `specs` name (`<id>`, `<ref>^{}`, `<rev>:<path>`) with their content, in order, null for what
 * the clone lacks: one `git cat-file --batch` process however many there are.
 */
export async function readObjects(cloneDir: string, specs: readonly string[], opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<(BatchObject | null)[]> {
  if (specs.length === 0) return [];
  // One request per line: a line break inside one would turn it into two and shift every answer.
  const bad = specs.find((spec) => /[\n\r]/.test(spec) || spec === '');
  if (bad !== undefined) throw new GitError(`cannot look up ${JSON.stringify(bad)} in ${cloneDir}: not an object name`);
  const { stdout } = await runGitBytes(['cat-file', '--batch'], {
    ...opts, repo: cloneDir, input: `${specs.join('\n')}\n`, what: `git cat-file in ${cloneDir}`, readOnly: true,
  });
  try {
    return parseCatFileBatch(stdout, specs.length);
  } catch (err) {
    if (err instanceof CatFileParseError) throw new GitError(`cannot read objects of ${cloneDir}: ${err.message}`);
    throw err;
  }
}

/** The blobs among `<rev>:<name>` answers: a tree, a submodule or a missing entry is not a file. */
function blobsOf(names: readonly string[], answers: readonly (BatchObject | null)[]): Map<string, string> {
  const files = new Map<string, string>();
  names.forEach((name, i) => {
    const o = answers[i];
    if (o?.type === 'blob') files.set(name, o.content.toString('utf8'));
  });
  return files;
}

/**
 * In one git process: what upstream's `tag` (our namespace) and the clone's own `tag` finally point to,
 * and the text of `names` in `expected` when the clone holds it as a commit.
 */
async function releaseFacts(
  cloneDir: string, tag: string, expected: string, names: readonly string[], opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<ReleaseFacts> {
  const [exp, up, local, ...files] = await readObjects(
    cloneDir, [expected, `${UPSTREAM_TAGS}/${tag}^{}`, `refs/tags/${tag}^{}`, ...names.map((n) => `${expected}:${n}`)], opts,
  );
  return { upstream: peeledOf(up), local: peeledOf(local), files: exp?.type === 'commit' ? blobsOf(names, files) : new Map() };
}

// ---------------------------------------------------------------------------------------------------------
// A run's releases, read before its first test

/** Answers of one `git cat-file --batch` over every clone a run tests (see prefetchReleases()). */
export interface PrefetchedReleases {
  /** The answer to `spec` (`<id>`, `<id>^{}`, `<id>:<name>`), null when no clone holds it, undefined if not asked. */
  answer(spec: string): BatchObject | null | undefined;
}

/**
 * GIT_ALTERNATE_OBJECT_DIRECTORIES for `gitDirs` (their objects folders). And never a lazy fetch: a partial
 * clone would fetch what it lacks from its remote, and these calls only read.
 */
function alternatesEnv(gitDirs: readonly string[] | undefined): Record<string, string> {
  if (!gitDirs?.length) return {};
  return { GIT_ALTERNATE_OBJECT_DIRECTORIES: gitDirs.map((d) => alternateEntry(path.join(d, 'objects'))).join(':'), GIT_NO_LAZY_FETCH: '1' };
}

/** Most bytes of objects a run's prefetch keeps in memory. */
const PREFETCH_MAX_BYTES = 32 * 1024 * 1024;

/** A tag name that is safe as a path under refs/ (releases are): anything else is asked of git. */
const PLAIN_TAG = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
/** packed-refs as git writes it: `<id> <refname>`, and `^<id>` for the line above's peeled value. */
const PACKED_LINE = /^[0-9a-f]{40} [^\s]+$/;
const PEELED_LINE = /^\^[0-9a-f]{40}$/;
const SHA1_ID = /^[0-9a-f]{40}$/;

/**
 * A ref's value read from the files git keeps it in (a loose ref wins over packed-refs, as in git): the id,
 * null when the ref does not exist, undefined when only git can say (a symbolic ref, reftable, an odd name
 * or file). Only files exactly as git writes them are read (a SHA-1 id, packed-refs line by line in git's
 * form, the ref named once): git reads some other forms its own way. Never follows a symlink, never reads a
 * large file.
 */
export function refValue(gitDir: string, ref: string): string | null | undefined {
  const name = ref.split('/').at(-1) ?? '';
  if (!PLAIN_TAG.test(name) || name.includes('..') || name.endsWith('.lock')) return undefined;
  try {
    if (existsSync(path.join(gitDir, 'reftable'))) return undefined;
    let loose: string | null = null;
    try {
      loose = readRegularText(path.join(gitDir, ref), { maxBytes: 256 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
    }
    // SHA-1 only: the prefetch reads SHA-1 clones, and a 64-digit id in one is a broken ref to git.
    if (loose !== null) return /^([0-9a-f]{40})\n?$/.exec(loose)?.[1] ?? undefined;
    let packed: string;
    try {
      packed = readRegularText(path.join(gitDir, 'packed-refs'), { maxBytes: 64 * 1024 * 1024 });
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
    }
    if (packed !== '' && !packed.endsWith('\n')) return undefined;
    let found: string | null = null;
    const lines = packed.split('\n');
    lines.pop();
    for (const [i, line] of lines.entries()) {
      if (i === 0 && line.startsWith('# pack-refs with:')) continue;
      if (line.length === 41 && PEELED_LINE.test(line)) continue;
      if (!PACKED_LINE.test(line)) return undefined;
      if (line.length === 41 + ref.length && line.endsWith(ref)) {
        if (found !== null) return undefined;
        found = line.slice(0, 40);
      }
    }
    return found;
  } catch {
    return undefined;
  }
}

/** The refs fetchRelease() asks about for `tag`, in its order: upstream's (our namespace), then the clone's own. */
const tagRefs = (tag: string): [string, string] => [`${UPSTREAM_TAGS}/${tag}`, `refs/tags/${tag}`];

/**
 * Everything fetchRelease() first asks of each clone (the tag's commit, what upstream's and the clone's own
 * tag point to, the files), for every recipe a run will test, from ONE `git cat-file --batch` over their
 * object stores joined as alternates (an object's id is the hash of its content, so an answer found in any
 * clone is the answer). The refs are read from the clones' files, now and again right before each test, so
 * only the objects come from here. Null, and every recipe asks its own clone as before, when this cannot be
 * done: a SHA-256 clone, more clones than one environment string holds, or any trouble (said at debug level).
 */
export async function prefetchReleases(
  items: readonly { cloneDir: string; tag: string; expected: string }[], names: readonly string[],
  opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal; log?: Pick<Logger, 'debug'> },
): Promise<PrefetchedReleases | null> {
  const specs = new Set<string>();
  const stores: string[] = [];
  for (const it of items) {
    const gitDir = ownObjectDir(it.cloneDir);
    // SHA-1 releases only (refValue() reads SHA-1 ids): a SHA-256 recipe asks its own clone.
    if (!gitDir || !SHA1_ID.test(it.expected)) continue;
    if (usesSha256(gitDir)) return null;
    stores.push(gitDir);
    specs.add(it.expected);
    for (const n of names) specs.add(`${it.expected}:${n}`);
    for (const ref of tagRefs(it.tag)) {
      const v = refValue(gitDir, ref);
      if (v) specs.add(`${v}^{}`);
    }
  }
  const unique = [...new Set(stores)];
  const bytes = unique.reduce((n, d) => n + alternateBytes(d), 0);
  if (unique.length === 0 || bytes > MAX_ALTERNATES_BYTES || names.some((n) => /[\n\r]/.test(n))) return null;
  const asked = [...specs];
  try {
    // A clone git cannot open (a broken HEAD or config) gives way to the next as the repository, as in
    // objectTypeLookup(): exit 128 with nothing answered. Any other failure gives up.
    for (let main = 0; main < Math.min(unique.length, MAX_MAIN_TRIES); main++) {
      const { stdout, exitCode } = await runGitBytes(['cat-file', '--batch'], {
        env: opts.env, signal: opts.signal, repo: path.dirname(unique[main]!), alternates: unique.filter((_, i) => i !== main),
        input: `${asked.join('\n')}\n`, what: 'git cat-file for the releases of this run', readOnly: true, okCodes: [128],
        // Kept for the whole sweep: compose files are kilobytes; a recipe with a huge one turns the prefetch
        // off (each clone is then asked alone, with the usual 100 MiB bound), rather than hold it all.
        maxOutputBytes: PREFETCH_MAX_BYTES,
      });
      if (exitCode !== 0) {
        if (stdout.length > 0) break;
        continue;
      }
      const answers = parseCatFileBatch(stdout, asked.length);
      const bySpec = new Map(asked.map((spec, i) => [spec, answers[i] ?? null]));
      return { answer: (spec) => bySpec.get(spec) };
    }
    throw new GitError('git could not read the clones (exit 128)');
  } catch (err) {
    opts.log?.debug({ err: messageOf(err) }, 'could not read the releases of this run at once: each clone is asked before its test');
    return null;
  }
}

/** releaseFacts() from a prefetch and the clone's refs as they are now; null when the prefetch does not cover it. */
function factsFromPrefetch(
  cloneDir: string, tag: string, expected: string, names: readonly string[], pre: PrefetchedReleases,
): ReleaseFacts | null {
  const gitDir = ownObjectDir(cloneDir);
  if (!gitDir) return null;
  const peeled: Peeled[] = [];
  for (const ref of tagRefs(tag)) {
    const v = refValue(gitDir, ref);
    if (v === undefined) return null;
    if (v === null) {
      peeled.push(null);
      continue;
    }
    const o = pre.answer(`${v}^{}`);
    // Not asked (the ref moved since), or no store held what the ref names: only the clone can say (the
    // prefetch's repository may read ids differently, e.g. a SHA-256 clone git reads as such).
    if (!o) return null;
    peeled.push(peeledOf(o));
  }
  const exp = pre.answer(expected);
  const files = names.map((n) => pre.answer(`${expected}:${n}`));
  if (exp === undefined || files.some((f) => f === undefined)) return null;
  return { upstream: peeled[0]!, local: peeled[1]!, files: exp?.type === 'commit' ? blobsOf(names, files as (BatchObject | null)[]) : new Map() };
}

// ---------------------------------------------------------------------------------------------------------
// Checkouts

export interface Checkout {
  /** Branch name when on a branch, null when detached. */
  branch: string | null;
  commit: string;
}

export async function currentCheckout(cloneDir: string, opts: { env: NodeJS.ProcessEnv }): Promise<Checkout> {
  // One process: the commit, then the symbolic name (`HEAD` itself when detached).
  const { stdout } = await runGit(['rev-parse', 'HEAD', '--symbolic-full-name', 'HEAD'], { ...opts, repo: cloneDir, what: `cannot read HEAD of ${cloneDir}`, readOnly: true });
  const [commit = '', ref = ''] = stdout.trim().split('\n');
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new GitError(`cannot read HEAD of ${cloneDir}`);
  return { branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null, commit };
}

/**
 * What is checked out and what `git status` reports (`status --porcelain=v2 --branch`):
 * the checkout as currentCheckout() gives it, and the changes as worktreeChanges() gives them (with the
 * same second process for files hidden from status): two processes where those two took three.
 */
export async function cloneStatus(cloneDir: string, opts: { env: NodeJS.ProcessEnv }): Promise<{ checkout: Checkout; changes: string[] }> {
  const call = { ...opts, repo: cloneDir, what: `cannot read the status of ${cloneDir}`, readOnly: true };
  const [{ stdout }, hidden] = await Promise.all([
    runGit(['--no-optional-locks', 'status', '--porcelain=v2', '--branch', '--untracked-files=normal'], call),
    hiddenFromStatus(cloneDir, call),
  ]);
  let commit = '';
  let branch: string | null = null;
  const changes: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# branch.oid ')) commit = line.slice('# branch.oid '.length).trim();
    else if (line.startsWith('# branch.head ')) {
      const head = line.slice('# branch.head '.length).trim();
      branch = head === '(detached)' ? null : head;
    } else if (line.startsWith('? ')) changes.push(`?? ${line.slice(2)}`);
    else {
      // `1 XY sub mH mI mW hH hI path`, `2 ... Xscore path<TAB>orig`, `u XY sub m1 m2 m3 mW h1 h2 h3 path`:
      // said as porcelain v1 says them (`M compose.yml`, `R  old -> new`).
      const m = /^(?:1 (\S\S)(?: \S+){6} (.+)|2 (\S\S)(?: \S+){7} ([^\t]+)\t(.+)|u (\S\S)(?: \S+){8} (.+))$/.exec(line);
      if (!m) continue;
      const xy = (m[1] ?? m[3] ?? m[6] ?? '').replace(/\./g, ' ');
      changes.push(`${xy} ${m[3] ? `${m[5]} -> ${m[4]}` : (m[2] ?? m[7])}`.trim());
    }
  }
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new GitError(`cannot read HEAD of ${cloneDir}`);
  return { checkout: { branch, commit }, changes: [...changes, ...hidden] };
}

/** Detached checkout of a commit. Refuses (GitError) when local changes would be overwritten. */
export async function checkoutDetached(cloneDir: string, commit: string, opts: { env: NodeJS.ProcessEnv }): Promise<void> {
  await runGit(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', commit, '--'], { ...opts, repo: cloneDir, what: `cannot check out ${commit} in ${cloneDir}` });
}

export async function restoreCheckout(cloneDir: string, saved: Checkout, opts: { env: NodeJS.ProcessEnv }): Promise<void> {
  if (saved.branch) {
    await runGit(['checkout', '--quiet', saved.branch, '--'], { ...opts, repo: cloneDir, what: `cannot restore ${cloneDir} to branch ${saved.branch}` });
  } else {
    await checkoutDetached(cloneDir, saved.commit, opts);
  }
}

/**
 * What `git status` reports in the work tree: modified or staged tracked files and untracked files, one
 * porcelain line each (`M compose.yml`, `?? notes.txt`). Ignored files are not reported. Takes no lock,
 * so it never races a harness that uses git in the same clone.
 */
export async function worktreeChanges(cloneDir: string, opts: { env: NodeJS.ProcessEnv }): Promise<string[]> {
  const call = { ...opts, repo: cloneDir, what: `cannot read the status of ${cloneDir}`, readOnly: true };
  const [status, hidden] = await Promise.all([
    runGit(['--no-optional-locks', 'status', '--porcelain', '--untracked-files=normal'], call),
    hiddenFromStatus(cloneDir, call),
  ]);
  const changes = status.stdout.split('\n').map((l) => l.trimEnd()).filter(Boolean).map((l) => l.trim());
  return [...changes, ...hidden];
}

/**
 * Files git is told not to look at (`update-index --assume-unchanged` / `--skip-worktree`) can hide local
 * edits from status; they count as changes too (`assume-unchanged <path>`, `skip-worktree <path>`). Read
 * from the clone's index file itself (src/core/git-index.ts), a git process fewer per status read; when
 * that reader cannot be sure (a split or sparse index, SHA-256, an unknown version, a file being
 * replaced), `git ls-files -v` answers as before.
 */
async function hiddenFromStatus(cloneDir: string, call: GitCall): Promise<string[]> {
  const fromIndex = hiddenFromIndexFile(cloneDir);
  if (fromIndex) return fromIndex.map((e) => `${e.kind} ${e.path}`);
  return hiddenFromLsFiles((await runGit(['ls-files', '-v', '-z'], call)).stdout);
}

/** The index's hidden entries, or null when git must be asked. */
function hiddenFromIndexFile(cloneDir: string): HiddenEntry[] | null {
  const gitDir = path.join(path.resolve(cloneDir), '.git');
  try {
    // The index's object ids are SHA-1 unless the repository says otherwise (extensions.objectFormat).
    if (/objectformat/i.test(readRegularFile(path.join(gitDir, 'config'), { maxBytes: 1024 * 1024 }).toString('latin1'))) return null;
    const index = readRegularFile(path.join(gitDir, 'index'), { maxBytes: 256 * 1024 * 1024 });
    // A zero checksum is git's index.skipHash; any other must match, or the file is not what git wrote.
    const end = index.length - 20;
    if (end < 0) return null;
    const sum = index.subarray(end);
    if (sum.some((b) => b !== 0) && !createHash('sha1').update(index.subarray(0, end)).digest().equals(sum)) return null;
    return hiddenIndexEntries(index, 20);
  } catch {
    return null;
  }
}

/** The files `ls-files -v -z` tags as hidden from status (assume-unchanged: lower case, skip-worktree: S). */
function hiddenFromLsFiles(lsFilesV: string): string[] {
  const out: string[] = [];
  for (const entry of lsFilesV.split('\0')) {
    const tag = entry.slice(0, 1);
    if (tag === 'S' || (tag !== '' && tag !== tag.toUpperCase())) out.push(`${tag === 'S' ? 'skip-worktree' : 'assume-unchanged'} ${entry.slice(2)}`);
  }
  return out;
}

/** The text of those of `names` (top-level files) that exist in `commit`, read from git, not from disk. One process. */
export async function filesAtCommit(
  cloneDir: string, commit: string, names: readonly string[], opts: { env: NodeJS.ProcessEnv },
): Promise<Map<string, string>> {
  const [tree, ...answers] = await readObjects(cloneDir, [`${commit}^{tree}`, ...names.map((n) => `${commit}:${n}`)], opts);
  if (!tree) throw new GitError(`cannot list ${commit} in ${cloneDir}: the clone has no such commit`);
  return blobsOf(names, answers);
}

/** HEAD of a repo, or null when the folder is not itself a git repo (the cc-ci repo may be a plain folder in tests). */
export async function headCommit(dir: string, opts: { env: NodeJS.ProcessEnv }): Promise<string | null> {
  try {
    return (await runGit(['rev-parse', '--verify', 'HEAD'], { ...opts, repo: dir, readOnly: true, linkedOk: true })).stdout.trim() || null;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Object types for a whole plan, from one process

/** The object types a plan asks of its clones; `close()` ends the process. */
export interface ObjectTypeLookup {
  /** Types of `ids` in the clones; ids no clone holds (or any trouble) are left out: unknown, not wrong. */
  types(ids: readonly string[]): Promise<Map<string, ObjectType>>;
  close(): void;
}

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** An environment string stays well below Linux's 128 KiB (bytes) per string; more clones take another process. */
const MAX_ALTERNATES_BYTES = 96 * 1024;
const LOOKUP_TIMEOUT_MS = 30_000;
/** Clones tried in turn as the repository of a lookup when git cannot even start in one (a broken HEAD or config). */
const MAX_MAIN_TRIES = 5;

/** `dir` as one entry of GIT_ALTERNATE_OBJECT_DIRECTORIES: C-quoted, so a `:` or `"` in a path is safe. */
function alternateEntry(dir: string): string {
  return `"${dir.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}

/** What a git dir adds to GIT_ALTERNATE_OBJECT_DIRECTORIES, its ':' included: bytes, the kernel's limit's unit. */
function alternateBytes(gitDir: string): number {
  return Buffer.byteLength(alternateEntry(path.join(gitDir, 'objects'))) + 1;
}

/** `<clone>/.git` when verifyOwnGitDir() accepts the clone and it has an objects folder, else null. */
function ownObjectDir(cloneDir: string): string | null {
  try {
    verifyOwnGitDir(cloneDir);
    const gitDir = path.join(path.resolve(cloneDir), '.git');
    return statSync(path.join(gitDir, 'objects')).isDirectory() ? gitDir : null;
  } catch {
    return null;
  }
}

/**
 * Whether a git dir's config names the SHA-256 object format (read as text: no process for it). Anywhere
 * on a line and quoted or not, as git reads it (`[extensions] objectFormat = "sha256"`): a false "yes" only
 * costs a clone its turn as the repository of a shared read.
 */
function usesSha256(gitDir: string): boolean {
  try {
    // Never blocks on a FIFO or reads a huge file: a config that is not a plain, small file is not SHA-256 here.
    return /objectformat\s*=\s*"?sha256\b/i.test(readRegularText(path.join(gitDir, 'config'), { maxBytes: 1024 * 1024 }));
  } catch {
    return false;
  }
}

interface LookupOptions {
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Told once when the types cannot be read at all (tags of trees or blobs are then found at fetch). */
  log?: Pick<Logger, 'warn'>;
}

/**
 * One `git cat-file --batch-check` for every clone of a plan, instead of one process per recipe: the
 * clones' object stores are joined as alternates of one of them. An object id is the hash of the
 * object's type and content, so an id found in any clone has that type in all of them; an id no clone
 * holds stays unknown (checked when the run fetches the tag). Each recipe's question is written as its
 * listing arrives and answered in order. A clone in which git cannot start (a broken HEAD or config, an
 * unknown extension) gives way to the next as the repository; a git that fails later, hangs past the
 * deadline or is stopped answers "unknown" from then on, said once in the log. Reads only: allowed in a
 * dry-run. Clones whose .git is a gitfile, a symlink or a linked worktree are left out, as every other
 * call refuses them.
 */
export function objectTypeLookup(cloneDirs: readonly string[], opts: LookupOptions): ObjectTypeLookup {
  const stores = [...new Set(cloneDirs.map(ownObjectDir).filter((d): d is string => d !== null))];
  const groups: string[][] = [];
  let size = 0;
  for (const gitDir of stores) {
    const bytes = alternateBytes(gitDir);
    if (groups.length === 0 || size + bytes > MAX_ALTERNATES_BYTES) {
      groups.push([]);
      size = 0;
    }
    groups.at(-1)!.push(gitDir);
    size += bytes;
  }
  let warned = false;
  const gaveUp = (why: string) => {
    if (warned || opts.signal?.aborted) return;
    warned = true;
    opts.log?.warn({ why }, 'cannot read object types from the clones: a tag of a tree or blob is found when the run fetches it');
  };
  const procs = groups.map((g) => batchCheck(g, opts, gaveUp));
  // What was answered, missing included: recipes share commits (forks, one upstream's tags), and a missing
  // id costs git a look through every alternate's packs.
  const known = new Map<string, ObjectType | null>();
  return {
    async types(ids) {
      const out = new Map<string, ObjectType>();
      const asked: string[] = [];
      for (const id of new Set(ids)) {
        if (!OBJECT_ID.test(id)) continue;
        const k = known.get(id);
        if (k === undefined) asked.push(id);
        else if (k !== null) out.set(id, k);
      }
      if (asked.length === 0) return out;
      const answers = await Promise.all(procs.map((p) => p.ask(asked)));
      for (const answer of answers) for (const [id, t] of answer) out.set(id, t);
      // Only a whole answer is remembered (a lookup that failed says nothing about what is missing).
      if (!procs.some((p) => p.failed())) for (const id of asked) known.set(id, out.get(id) ?? null);
      return out;
    },
    close: () => procs.forEach((p) => p.close()),
  };
}

interface BatchCheck {
  ask(ids: string[]): Promise<Map<string, ObjectType>>;
  /** Gave up: its answers are "unknown", not "missing". */
  failed(): boolean;
  close(): void;
}

/** One cat-file over `gitDirs` (one is the repository, the rest its alternates), started on first use. */
function batchCheck(gitDirs: string[], opts: LookupOptions, gaveUp: (why: string) => void): BatchCheck {
  type Pending = { ids: string[]; answered: number; got: Map<string, ObjectType>; done: (m: Map<string, ObjectType>) => void; timer?: NodeJS.Timeout };
  const queue: Pending[] = [];
  let proc: ChildProcess | null = null;
  let dead = false;
  let closed = false;
  let partial = '';
  let answeredAny = false;
  let mainIndex = 0;
  const outbox: string[] = [];
  const timeoutMs = opts.timeoutMs ?? LOOKUP_TIMEOUT_MS;

  const stopProcess = (p: ChildProcess | null) => {
    if (p?.pid === undefined) return;
    liveGroups.delete(p.pid);
    signalGroup(p.pid, 'SIGKILL');
  };
  // Everything still waiting is answered "unknown"; nothing is asked of this lookup again.
  const fail = (why: string) => {
    if (dead) return;
    dead = true;
    opts.signal?.removeEventListener('abort', onAbort);
    if (!closed) gaveUp(why); // a git that ends after close() ended as it should
    for (const p of queue.splice(0)) {
      clearTimeout(p.timer);
      p.done(p.got);
    }
    stopProcess(proc);
  };
  const onAbort = () => fail('the sweep was stopped');
  const onLine = (line: string) => {
    const p = queue[0];
    if (!p) return fail('git answered a question nobody asked'); // out of step: trust nothing more
    answeredAny = true;
    const id = p.ids[p.answered++];
    const m = /^([0-9a-f]{40,64}) (commit|tree|blob|tag)$/.exec(line);
    // Only an answer about exactly the id asked counts (a repository of another hash algorithm could read
    // a 40-digit id as an abbreviation of something else).
    if (id !== undefined && m?.[1] === id) p.got.set(id, m[2] as ObjectType);
    if (p.answered === p.ids.length) {
      queue.shift();
      clearTimeout(p.timer);
      p.done(p.got);
    }
  };
  const flush = () => {
    if (outbox.length > 0 && proc && !dead) proc.stdin!.write(outbox.join(''));
    outbox.length = 0;
  };
  /** Git ended before answering anything: its repository is broken; the next clone takes its place. */
  const onEnd = (p: ChildProcess, why: string) => {
    if (p !== proc || dead) return;
    if (!answeredAny && !closed && mainIndex + 1 < Math.min(gitDirs.length, MAX_MAIN_TRIES)) {
      stopProcess(p);
      mainIndex += 1;
      proc = null;
      partial = '';
      if (queue.length > 0 && start()) {
        // Every question again (none was answered), to the new process: the outbox is rebuilt from the
        // queue, so a question not yet written is not written twice.
        outbox.length = 0;
        outbox.push(...queue.map((q) => `${q.ids.join('\n')}\n`));
        flush();
      }
      return;
    }
    fail(why);
  };
  const start = (): ChildProcess | null => {
    if (proc || dead) return proc;
    // Never a SHA-256 clone as the repository: it would read every 40-digit id as an abbreviation. (Only
    // the candidate's config is read, not every clone's.)
    while (mainIndex < gitDirs.length - 1 && usesSha256(gitDirs[mainIndex]!)) mainIndex += 1;
    mayAct(redact(`run git cat-file in ${path.dirname(gitDirs[mainIndex]!)}`), 'read');
    if (opts.signal?.aborted) {
      fail('the sweep was stopped');
      return null;
    }
    const main = gitDirs[mainIndex]!;
    const others = gitDirs.filter((_, i) => i !== mainIndex);
    const env = gitEnv(opts.env, { extra: alternatesEnv(others) });
    let p: ChildProcess;
    try {
      p = spawn('git', [...NO_REPLACE, `--git-dir=${main}`, 'cat-file', '--batch-check=%(objectname) %(objecttype)'], {
        cwd: path.dirname(main), env, detached: true, stdio: ['pipe', 'pipe', 'ignore'],
      });
    } catch (err) {
      // E2BIG, ENOMEM...: thrown at once rather than emitted. Unknown types, as for any other trouble.
      fail(`git cat-file could not start: ${messageOf(err)}`);
      return null;
    }
    proc = p;
    if (p.pid !== undefined) liveGroups.add(p.pid);
    hookExit();
    if (opts.signal && mainIndex === 0) {
      setMaxListeners(0, opts.signal);
      opts.signal.addEventListener('abort', onAbort, { once: true });
    }
    p.on('error', (err) => {
      if (p === proc) fail(`git cat-file: ${messageOf(err)}`);
    });
    p.on('close', (code) => onEnd(p, `git cat-file ended (exit ${code})`));
    p.stdin!.on('error', () => onEnd(p, 'git cat-file stopped reading'));
    p.stdout!.setEncoding('latin1');
    p.stdout!.on('data', (chunk: string) => {
      if (p !== proc) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (!dead) onLine(line);
    });
    return p;
  };
  return {
    failed: () => dead && !closed,
    ask(ids) {
      return new Promise((resolve) => {
        const p = start();
        const pending: Pending = { ids, answered: 0, got: new Map(), done: resolve };
        if (!p || dead) return resolve(pending.got);
        pending.timer = later(() => fail(`git cat-file gave no answer in ${timeoutMs / 1000} s`), timeoutMs);
        queue.push(pending);
        // Questions asked in the same turn of the event loop go out in one write: on a busy 2-core host each
        // write to the pipe wakes git, and one per recipe cost more than the answers.
        outbox.push(`${ids.join('\n')}\n`);
        if (outbox.length === 1) setImmediate(flush);
      });
    },
    close() {
      flush();
      closed = true;
      const p = proc;
      if (!p || dead) return;
      p.stdin!.end();
      // Every question is answered: git ends on its own at the end of its input. One that does not (a
      // wrapper, a hung filesystem) must not hold the sweep open; it is killed when the process exits.
      p.unref();
      (p.stdout as unknown as { unref?: () => void } | null)?.unref?.();
      opts.signal?.removeEventListener('abort', onAbort);
    },
  };
}
