// Shell completion, as the shells run it: the script printed by the built CLI is sourced into a real bash,
// whose completion function is called the way readline calls it; zsh is checked where it is installed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { BIN } from '../support/cli.js';

const DIST = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

const has = (cmd: string, versionFlag = '--version') => {
  try {
    execFileSync(cmd, [versionFlag], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** The program as the CLI builds it: the truth the scripts must follow. */
const program = buildProgram({ stdout: () => {}, stderr: () => {}, env: {} }, () => {}, async () => 0);

async function script(shell: 'bash' | 'zsh'): Promise<string> {
  const r = await execa('node', [BIN, 'completion', shell], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/nonexistent', LANG: 'C' }, extendEnv: false, reject: false, stdin: 'ignore',
  });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return String(r.stdout);
}

let bashFile = '';
let work = '';

beforeAll(async () => {
  // `npm test` builds first; a lone `vitest run` of this file builds only when there is nothing built.
  if (!existsSync(DIST)) execFileSync('npm', ['run', 'build'], { cwd: path.resolve(path.dirname(DIST), '../..'), stdio: 'ignore' });
  work = mkdtempSync(path.join(tmpdir(), 'ccci-completion-'));
  bashFile = path.join(work, 'ccci-sweep.bash');
  writeFileSync(bashFile, await script('bash'));
}, 120_000);

/** A fake cc-ci repo: recipe folders with recipe_meta.py, plus the ones that must not be offered. */
function ccciRepo(recipes: string[]): string {
  const repo = mkdtempSync(path.join(work, 'cc-ci-'));
  for (const r of [...recipes, '_shared']) {
    mkdirSync(path.join(repo, 'tests', r), { recursive: true });
    writeFileSync(path.join(repo, 'tests', r, 'recipe_meta.py'), 'WARM_CANONICAL = True\n');
  }
  mkdirSync(path.join(repo, 'tests', 'not-a-recipe'), { recursive: true });
  return repo;
}

/**
 * COMPREPLY for the command line `words` (the last word is the one being completed, '' for a new one), as
 * bash would set COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT for it.
 */
async function complete(words: string[], env: Record<string, string> = {}): Promise<string[]> {
  const snippet = [
    'source "$1"; shift',
    'COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))',
    'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}',
    // The function bash would call: what `complete -p` registered for the command.
    'fn=$(complete -p ccci-sweep | sed -n "s/.*-F \\([^ ]*\\) .*/\\1/p")',
    '"$fn" ccci-sweep "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const r = await execa('bash', ['--norc', '--noprofile', '-c', snippet, 'bash', bashFile, ...words], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, ...env }, extendEnv: false, reject: false, stdin: 'ignore',
  });
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  return String(r.stdout).split('\n').filter(Boolean);
}

describe('bash completion', () => {
  it('registers a completion function for ccci-sweep and parses cleanly', async () => {
    const r = await execa('bash', ['-n', bashFile], { reject: false });
    expect(r.exitCode).toBe(0);
    const p = await execa('bash', ['--norc', '-c', 'source "$1" && complete -p ccci-sweep', 'bash', bashFile]);
    expect(String(p.stdout)).toBe('complete -F _ccci_sweep ccci-sweep');
  });

  it('completes subcommands', async () => {
    expect(await complete(['ccci-sweep', 'ru'])).toEqual(['run']);
    // The operator-control commands, with their options and recipe names.
    expect(await complete(['ccci-sweep', 'r'])).toEqual(['run', 'release', 'rollback']);
    expect(await complete(['ccci-sweep', 'ho'])).toEqual(['hold']);
    expect(await complete(['ccci-sweep', 've'])).toEqual(['verify']);
    expect(await complete(['ccci-sweep', 'hold', '--un'])).toEqual(['--until']);
    expect(await complete(['ccci-sweep', 'run', '--allow-'])).toEqual(['--allow-downgrade']);
    expect(await complete(['ccci-sweep', 'plan', '--min-rel'])).toEqual(['--min-release-age']);
    expect(await complete(['ccci-sweep', 'st'])).toEqual(['status']);
    const all = await complete(['ccci-sweep', '']);
    expect(all).toEqual([...program.commands.map((c) => c.name()), 'help']);
    expect(await complete(['ccci-sweep', '--v'])).toEqual(['--version']);
  });

  it("completes a subcommand's long options", async () => {
    expect((await complete(['ccci-sweep', 'run', '--re'])).sort()).toEqual(['--recipe', '--recipes-dir', '--remote-jobs', '--retry']);
    expect(await complete(['ccci-sweep', 'run', '--dr'])).toEqual(['--dry-run']);
    expect(await complete(['ccci-sweep', 'status', '--ca'])).toEqual([]); // status has no --cadence
    // Options already on the line do not change what comes next.
    expect(await complete(['ccci-sweep', 'plan', '--cadence', 'weekly', '--recipe', 'x', '--of'])).toEqual(['--offline']);
  });

  it('offers every long option of every command, exactly as the program defines them', async () => {
    const help = program.createHelp();
    for (const cmd of program.commands) {
      const expected = help.visibleOptions(cmd).map((o) => o.long).filter(Boolean).sort();
      expect((await complete(['ccci-sweep', cmd.name(), '--'])).sort(), cmd.name()).toEqual(expected);
    }
  });

  it('completes the values of options with choices, in each way they can be written', async () => {
    expect(await complete(['ccci-sweep', 'plan', '--cadence', ''])).toEqual(['nightly', 'weekly', 'all']);
    expect(await complete(['ccci-sweep', 'run', '--cadence', 'n'])).toEqual(['nightly']);
    // `--cadence=w` as bash splits it (with "=" in COMP_WORDBREAKS) and as one word (without).
    expect(await complete(['ccci-sweep', 'run', '--cadence', '=', 'w'])).toEqual(['weekly']);
    expect(await complete(['ccci-sweep', 'run', '--cadence', '='])).toEqual(['nightly', 'weekly', 'all']);
    expect(await complete(['ccci-sweep', 'run', '--cadence=w'])).toEqual(['--cadence=weekly']);
    // A value with nothing to offer offers nothing (not the subcommand's options).
    expect(await complete(['ccci-sweep', 'run', '--jobs', ''])).toEqual([]);
  });

  it("completes the completion command's <shell> argument from its choices", async () => {
    expect(await complete(['ccci-sweep', 'completion', ''])).toEqual(['bash', 'zsh']);
    expect(await complete(['ccci-sweep', 'completion', 'z'])).toEqual(['zsh']);
    expect(await complete(['ccci-sweep', 'completion', 'bash', ''])).toEqual([]);
    expect(await complete(['ccci-sweep', 'help', 'ru'])).toEqual(['run']);
  });

  it('completes --recipe from $CCCI_REPO/tests/*/recipe_meta.py, or from --ccci-repo on the line', async () => {
    const repo = ccciRepo(['gitea', 'ghost', 'nextcloud']);
    expect(await complete(['ccci-sweep', 'run', '--recipe', 'gi'], { CCCI_REPO: repo })).toEqual(['gitea']);
    expect(await complete(['ccci-sweep', 'verify', '--recipe', 'gi'], { CCCI_REPO: repo })).toEqual(['gitea']);
    expect(await complete(['ccci-sweep', 'hold', 'gi'], { CCCI_REPO: repo })).toEqual(['gitea']);
    expect(await complete(['ccci-sweep', 'rollback', 'ne'], { CCCI_REPO: repo })).toEqual(['nextcloud']);
    expect(await complete(['ccci-sweep', 'plan', '--recipe', ''], { CCCI_REPO: repo })).toEqual(['ghost', 'gitea', 'nextcloud']);
    expect(await complete(['ccci-sweep', 'status', '--recipe=n'], { CCCI_REPO: repo })).toEqual(['--recipe=nextcloud']);
    const other = ccciRepo(['forgejo']);
    expect(await complete(['ccci-sweep', 'run', '--ccci-repo', other, '--recipe', ''], { CCCI_REPO: repo })).toEqual(['forgejo']);
    expect(await complete(['ccci-sweep', 'run', `--ccci-repo=${other}`, '--recipe', 'f'], { CCCI_REPO: repo })).toEqual(['forgejo']);
    // Default /etc/cc-ci (absent here): nothing, and no error.
    expect(await complete(['ccci-sweep', 'run', '--recipe', ''])).toEqual(
      existsSync('/etc/cc-ci/tests') ? expect.any(Array) : [],
    );
  });

  it('completes directories for DIR options', async () => {
    const dir = mkdtempSync(path.join(work, 'state-'));
    expect(await complete(['ccci-sweep', 'run', '--state-dir', dir.slice(0, -2)])).toContain(dir);
  });
});

describe('zsh completion', () => {
  it('is a #compdef script generated from the program: every command and every long option', async () => {
    const text = await script('zsh');
    expect(text.split('\n')[0]).toBe('#compdef ccci-sweep');
    const help = program.createHelp();
    for (const cmd of program.commands) {
      expect(text).toMatch(new RegExp(`^ +'${cmd.name()}:`, 'm'));
      expect(text).toMatch(new RegExp(`^ +${cmd.name()}\\)$`, 'm'));
      for (const o of help.visibleOptions(cmd)) if (o.long) expect(text, `${cmd.name()} ${o.long}`).toContain(`${o.long}`);
    }
    expect(text).toContain(`'--cadence=[which enrolled recipes]:cadence:(nightly weekly all)'`);
    expect(text).toContain(`'1:shell:(bash zsh)'`);
  });

  it.skipIf(!has('zsh'))('parses with zsh -n', async () => {
    const file = path.join(work, '_ccci-sweep');
    writeFileSync(file, await script('zsh'));
    const r = await execa('zsh', ['-n', file], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});

// zsh's completion system only runs in an interactive shell: drive one in tmux and read the screen.
describe.skipIf(!has('zsh') || !has('tmux', '-V'))('zsh completion in an interactive zsh (tmux)', () => {
  const socket = `ccci-zsh-${process.pid}`;
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', env: { ...process.env, TMUX: '' } });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function until(what: string, ok: (s: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < end) {
      text = tmux('capture-pane', '-p', '-t', 'z');
      if (ok(text)) return text;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}; the screen:\n${text}`);
  }

  afterEach(() => {
    try {
      tmux('kill-server');
    } catch {
      // no server left
    }
  });

  it('completes subcommands, option choices and recipe names', async () => {
    const home = mkdtempSync(path.join(work, 'zdot-'));
    const fpath = path.join(home, 'functions');
    mkdirSync(fpath);
    writeFileSync(path.join(fpath, '_ccci-sweep'), await script('zsh'));
    writeFileSync(path.join(home, '.zshrc'), [
      `fpath=(${fpath} $fpath)`,
      `autoload -U compinit && compinit -u -d ${home}/.zcompdump`,
      // A stand-in command: completion is looked up by the command word.
      'ccci-sweep() { :; }',
      "PROMPT='READY> '",
      '',
    ].join('\n'));
    const repo = ccciRepo(['gitea']);
    tmux('new-session', '-d', '-s', 'z', '-x', '160', '-y', '40', `env ZDOTDIR=${home} CCCI_REPO=${repo} zsh -i`);
    await until('the prompt', (s) => s.includes('READY>'));
    const type = async (keys: string, expect: RegExp) => {
      tmux('send-keys', '-t', 'z', keys, 'Tab');
      const s = await until(`completion of ${JSON.stringify(keys)}`, (text) => expect.test(text));
      tmux('send-keys', '-t', 'z', 'C-c');
      await until('a fresh prompt', (text) => /READY>\s*$/.test(text.trimEnd()));
      return s;
    };
    await type('ccci-sweep ru', /^READY> ccci-sweep run *$/m);
    await type('ccci-sweep plan --cadence ', /^all +nightly +weekly/m);
    await type('ccci-sweep run --recipe gi', /^READY> ccci-sweep run --recipe gitea *$/m);
    await type('ccci-sweep completion ', /^bash +zsh/m);
  }, 90_000);
});
