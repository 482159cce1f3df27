// `--jobs N` is N tests at once: a slot is free again when a recipe's last cc-ci-run has ended, so the next
// recipe's test starts while the previous one's gate, promotion and restore finish on its own clone.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, cliJson, control, launches, readJson, sandbox, startCli, until } from '../support/cli.js';
import { git } from '../support/git.js';

const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

function script(file: string, text: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, 0o755);
  return file;
}

describe('--jobs 1', () => {
  it("starts the next recipe's test while the previous clone is still being put back", async () => {
    const sb = await sandbox([{ name: 'aaa', releases: [{ tag: '1.0.0' }] }, { name: 'bbb', releases: [{ tag: '1.0.0' }] }]);
    const first = path.join(sb.recipesDir, 'aaa');
    const marker = path.join(sb.root, 'bbb-is-testing');
    const events = path.join(sb.root, 'restore-events');
    // git on PATH: putting aaa's clone back waits until bbb's test has started (an event, bounded at 15 s).
    const bin = path.join(sb.root, 'wrap-bin');
    script(path.join(bin, 'git'), `#!/usr/bin/env bash
case " $* " in
  *" --work-tree=${first} checkout --quiet main "*)
    for i in $(seq 1 300); do
      if [ -e '${marker}' ]; then echo saw >>'${events}'; exec '${REAL_GIT}' "$@"; fi
      sleep 0.05
    done
    echo timeout >>'${events}' ;;
esac
exec '${REAL_GIT}' "$@"
`);
    control(sb, { bbb: { write: { path: marker, text: 'testing\n' } } });
    const { r, doc } = await cliJson(sb, ['run', '--jobs', '1'], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes.map((x: { recipe: string; outcome: string }) => [x.recipe, x.outcome])).toEqual([['aaa', 'promoted'], ['bbb', 'promoted']]);
    expect(readFileSync(events, 'utf8').trim().split('\n')).toEqual(['saw']);
    for (const clone of [first, path.join(sb.recipesDir, 'bbb')]) expect(git(clone, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
  });

  it('never runs two cc-ci-run at once: the seed script of one recipe ends before the next test starts', async () => {
    const sb = await sandbox(['aaa', 'bbb', 'ccc'].map((name) => ({ name, releases: [{ tag: '1.0.0' }] })));
    const events = path.join(sb.root, 'harness-events');
    // cc-ci-run, as seen from outside: one line when it starts and one when it ends, in one file.
    const wrapper = script(path.join(sb.root, 'wrap-bin', 'cc-ci-run'), `#!/usr/bin/env bash
echo "start $RECIPE $1" >>'${events}'
'${sb.ccciRun}' "$@"
rc=$?
echo "end $RECIPE $1" >>'${events}'
exit $rc
`);
    control(sb, { aaa: { seedSleepMs: 300 }, bbb: { seedSleepMs: 300 } });
    const { r, doc } = await cliJson(sb, ['run', '--jobs', '1'], { CCCI_RUN: wrapper });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes.every((x: { outcome: string }) => x.outcome === 'promoted')).toBe(true);
    const lines = readFileSync(events, 'utf8').trim().split('\n');
    // Each recipe: its test, then its seed script; and nothing of the next one in between.
    expect(lines.length).toBe(12);
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]).toMatch(/^start /);
      expect(lines[i + 1]).toBe(lines[i]!.replace(/^start/, 'end'));
    }
    expect(lines.filter((l) => l.startsWith('start')).map((l) => l.split(' ')[1])).toEqual(['aaa', 'aaa', 'bbb', 'bbb', 'ccc', 'ccc']);
    expect(existsSync(path.join(sb.stateDir, 'ccc', 'canonical.json'))).toBe(true);
  });
});

describe('a stop while one recipe is put back and the next is tested', () => {
  /** aaa's restore waits for `<root>/go`; bbb's test waits for `<root>/bbb-release` and says when it runs. */
  async function overlapping() {
    const sb = await sandbox([{ name: 'aaa', releases: [{ tag: '1.0.0' }] }, { name: 'bbb', releases: [{ tag: '1.0.0' }] }]);
    const at = (n: string) => path.join(sb.root, n);
    const bin = path.join(sb.root, 'wrap-bin');
    script(path.join(bin, 'git'), `#!/usr/bin/env bash
case " $* " in
  *" --work-tree=${path.join(sb.recipesDir, 'aaa')} checkout --quiet main "*)
    echo $$ >'${at('restore-pid')}'
    while [ ! -e '${at('go')}' ]; do [ -d '${sb.root}' ] || exit 1; sleep 0.05; done ;;
esac
exec '${REAL_GIT}' "$@"
`);
    control(sb, { bbb: { write: { path: at('bbb-testing'), text: 'x\n' }, waitFor: at('bbb-release') } });
    const sweep = startCli(sb, ['run', '--jobs', '1', '--json'], { PATH: `${bin}:${process.env.PATH}` });
    await until('aaa being put back while bbb is tested', () => existsSync(at('restore-pid')) && existsSync(at('bbb-testing')));
    return { sb, at, sweep };
  }
  const onMain = (sb: { recipesDir: string }, n: string) => git(path.join(sb.recipesDir, n), 'symbolic-ref', '--short', 'HEAD');

  it('SIGTERM: the test is stopped, both clones put back, one result each, exit 143', async () => {
    const { sb, at, sweep } = await overlapping();
    process.kill(sweep.pid!, 'SIGTERM');
    await until('bbb to be told to stop', () => existsSync(`${sb.harnessLog}.signals`));
    writeFileSync(at('go'), '');
    const r = await sweep;
    expect(r.exitCode).toBe(143);
    expect(JSON.parse(String(r.stdout)).recipes.map((x: { recipe: string; outcome: string }) => [x.recipe, x.outcome]))
      .toEqual([['aaa', 'promoted'], ['bbb', 'interrupted']]);
    for (const n of ['aaa', 'bbb']) {
      expect(onMain(sb, n)).toBe('main');
      expect(existsSync(path.join(sb.stateDir, n, '.recipe.lock'))).toBe(false);
    }
    expect(readJson(path.join(sb.stateDir, 'aaa', 'canonical.json')).version).toBe('1.0.0');
  }, 60_000);

  it('kill -9: the next run puts both clones back and tests what was not finished', async () => {
    const { sb, at, sweep } = await overlapping();
    process.kill(sweep.pid!, 'SIGKILL');
    process.kill(-Number(readFileSync(at('restore-pid'), 'utf8')), 'SIGKILL'); // aaa is never put back
    await sweep;
    expect(git(path.join(sb.recipesDir, 'aaa'), 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD');
    // bbb's test outlives the sweep (its own process group); the next run waits for nothing but its end.
    const bbb = launches(sb).find((l) => l.recipe === 'bbb') as unknown as { pid: number };
    writeFileSync(at('bbb-release'), '');
    await until('the orphaned test to end', () => !alive(bbb.pid));
    const { r, doc } = await cliJson(sb, ['run', '--jobs', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes.map((x: { recipe: string; outcome: string }) => [x.recipe, x.outcome])).toEqual([['aaa', 'skipped'], ['bbb', 'promoted']]);
    for (const n of ['aaa', 'bbb']) {
      expect(onMain(sb, n)).toBe('main');
      expect(readJson(path.join(sb.stateDir, n, 'canonical.json')).version).toBe('1.0.0');
      for (const line of readFileSync(path.join(sb.stateDir, n, 'history.jsonl'), 'utf8').trim().split('\n')) JSON.parse(line);
    }
  }, 90_000);
});
