// Shared set-up for the mirror tests: real git on temp bare repos, a `git` wrapper that logs every argv,
// and a logger whose JSON output is captured.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../src/adapters/log.js';

const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

/**
 * Isolates git from the host (own HOME, no system config, fixed identity) and puts a wrapper `git` first on
 * PATH that appends its argv to `argvLog`. process.env is per test file (vitest's forks pool).
 */
export function setupGitEnv(): { base: string; argvLog: string } {
  const base = mkdtempSync(path.join(tmpdir(), 'ccci-mirror-'));
  const bin = path.join(base, 'bin');
  mkdirSync(bin);
  const argvLog = path.join(base, 'git-argv.log');
  writeFileSync(argvLog, '');
  writeFileSync(path.join(bin, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${REAL_GIT}' "$@"\n`, { mode: 0o755 });
  Object.assign(process.env, {
    PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    HOME: base,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'ci', GIT_AUTHOR_EMAIL: 'ci@example.invalid',
    GIT_COMMITTER_NAME: 'ci', GIT_COMMITTER_EMAIL: 'ci@example.invalid',
  });
  delete process.env.GIT_CONFIG_COUNT;
  return { base, argvLog };
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Object id of `ref` in `repo`, or undefined when the ref does not exist. */
export function refOf(repo: string, ref: string): string | undefined {
  try {
    return git(repo, 'rev-parse', '--verify', '--quiet', ref);
  } catch {
    return undefined;
  }
}

export interface Scenario {
  /** Directory holding the bare repos (what the HTTP server serves). */
  root: string;
  recipe: string;
  /** Bare upstream (root/coop-cloud/<recipe>.git) and mirror (root/recipe-maintainers/<recipe>.git). */
  upstream: string;
  mirror: string;
  /** Where upstream commits are made. */
  work: string;
  /** The local recipe clone syncMirror uses. */
  clone: string;
  /** Commits a new file in `dir` (default: work) and returns the commit id. */
  commit(msg: string, dir?: string): string;
  /** Annotated tag in work at HEAD (or `at`); returns the tag object id. */
  tag(name: string, at?: string): string;
  /** Pushes work's main and all its tags to upstream (forced: upstream may rewrite in a test). */
  publish(): void;
  /** All refs of a repo as "sha ref" lines, for before/after comparisons. */
  refs(repo: string): string;
}

/** upstream with main at one commit tagged 1.0.0+1.2.3; mirror equal to upstream; clone cloned from upstream. */
export function makeScenario(base: string, recipe = 'app'): Scenario {
  const dir = mkdtempSync(path.join(base, 'scn-'));
  const root = path.join(dir, 'srv');
  const upstream = path.join(root, 'coop-cloud', `${recipe}.git`);
  const mirror = path.join(root, 'recipe-maintainers', `${recipe}.git`);
  const work = path.join(dir, 'work');
  const clone = path.join(dir, 'recipes', recipe);
  for (const bare of [upstream, mirror]) {
    mkdirSync(bare, { recursive: true });
    git(bare, 'init', '--bare', '--quiet', '-b', 'main');
  }
  mkdirSync(work);
  git(work, 'init', '--quiet', '-b', 'main');
  let n = 0;
  const s: Scenario = {
    root, recipe, upstream, mirror, work, clone,
    commit(msg, at = work) {
      writeFileSync(path.join(at, `f${++n}.txt`), `${msg}\n`);
      git(at, 'add', '.');
      git(at, 'commit', '--quiet', '-m', msg);
      return git(at, 'rev-parse', 'HEAD');
    },
    tag(name, at = 'HEAD') {
      git(work, 'tag', '-f', '-a', name, '-m', `release ${name}`, at);
      return git(work, 'rev-parse', `refs/tags/${name}`);
    },
    publish() {
      git(work, 'push', '--quiet', '--force', upstream, 'main:main', '+refs/tags/*:refs/tags/*');
    },
    refs: (repo) => git(repo, 'for-each-ref', '--format=%(objectname) %(refname)'),
  };
  s.commit('initial');
  s.tag('1.0.0+1.2.3');
  s.publish();
  git(work, 'push', '--quiet', mirror, 'main:main', 'refs/tags/*:refs/tags/*');
  mkdirSync(path.dirname(clone), { recursive: true });
  git(path.dirname(clone), 'clone', '--quiet', upstream, clone);
  return s;
}

/** A JSON logger whose output is kept for assertions. */
export function captureLogger(): { log: Logger; output: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return { log: createLogger({ stream, json: true, level: 'debug', env: process.env }), output: () => out };
}

export const FAST_RETRY = { tries: 3, baseDelayMs: 10 };
