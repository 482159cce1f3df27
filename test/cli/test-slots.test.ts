// `--jobs N` is N tests at once: a slot is free again when a recipe's last cc-ci-run has ended, so the next
// recipe's test starts while the previous one's gate, promotion and restore finish on its own clone.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliJson, control, sandbox } from '../support/cli.js';
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
