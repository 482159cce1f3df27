// Runs the built CLI as a real subprocess against a sandbox, and reads what the stand-in cc-ci-run saw.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, lstatSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { CrashStep } from '../../src/sweep/faults.js';
import { buildSandbox, type RecipeSpec, type Sandbox } from './sandbox.js';

export const BIN = path.resolve(import.meta.dirname, '../../bin/ccci-sweep.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function sandbox(specs: RecipeSpec[]): Promise<Sandbox> {
  return buildSandbox(mkdtempSync(path.join(tmpdir(), 'ccci-test-')), specs);
}

/**
 * The whole environment of the CLI under test: PATH, a HOME of its own (empty, in the sandbox), LANG=C, the
 * test file's TMPDIR (removed with it), the sandbox's settings, and what the test passes. Nothing else of the
 * developer's or the test runner's environment reaches it (INVOCATION_ID, PREFIX, GIT_* change nothing).
 */
export function cliEnv(sb: Sandbox, env: Record<string, string> = {}): Record<string, string> {
  const home = path.join(sb.root, 'home');
  mkdirSync(home, { recursive: true });
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: 'C',
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    ...sb.env,
    CCCI_LOG_FORMAT: 'json',
    ...env,
  };
}

export async function cli(sb: Sandbox, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await execa('node', [BIN, ...args], { env: cliEnv(sb, env), extendEnv: false, reject: false, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export async function cliJson<T = any>(sb: Sandbox, args: string[], env?: Record<string, string>): Promise<{ r: CliResult; doc: T }> {
  const r = await cli(sb, [...args, '--json'], env);
  let doc: T;
  try {
    doc = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.exitCode}):\n${r.stdout}\n--- stderr:\n${r.stderr}`);
  }
  return { r, doc };
}

const CRASH_CLI = path.resolve(import.meta.dirname, './crash-cli.ts');

/** The CLI with a crash point armed (test/support/crash-cli.ts): the shipped binary has none. */
export async function crashCli(sb: Sandbox, step: CrashStep, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await execa('node', ['--import', 'tsx', CRASH_CLI, step, ...args], { env: cliEnv(sb, env), extendEnv: false, reject: false, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Starts the CLI without waiting for it (for signals and concurrent runs). */
export function startCli(sb: Sandbox, args: string[], env: Record<string, string> = {}) {
  return execa('node', [BIN, ...args], { env: cliEnv(sb, env), extendEnv: false, reject: false, stdin: 'ignore' });
}

/** Whether a process with this pid still exists (signal 0 sends nothing). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `cond` holds; fails naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Launch {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  script: string;
  recipe: string;
  head: string | null;
  branch: string | null;
}

/** Every launch of the stand-in cc-ci-run so far. */
export function launches(sb: Sandbox): Launch[] {
  if (!existsSync(sb.harnessLog)) return [];
  return readFileSync(sb.harnessLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Launch);
}

export function control(sb: Sandbox, perRecipe: Record<string, Record<string, unknown>>): void {
  writeFileSync(sb.control, JSON.stringify(perRecipe));
}

export function readJson(file: string): any {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Content hash of every file and symlink under `dir` (path -> hash), to prove nothing changed. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), `${st.mode}:${createHash('sha1').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}
