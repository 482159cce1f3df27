// A full disk at the worst moment, on a real small tmpfs holding the state dir: every write is whole or
// absent. The stand-in harness fills the file system while it "tests" (control.fill), leaving a few pages, so
// the sweep's next writes get short counts and then ENOSPC, exactly as on a real host.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addRelease, type Sandbox } from '../support/sandbox.js';
import { cli, cliJson, control, sandbox } from '../support/cli.js';

const isRoot = process.getuid?.() === 0;
const mounted: string[] = [];
afterEach(() => {
  while (mounted.length > 0) execFileSync('umount', ['-l', mounted.pop()!]);
});

/** The sandbox's state dir on its own small tmpfs. */
async function onTmpfs(): Promise<Sandbox> {
  const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs', sb.stateDir]);
  mounted.push(sb.stateDir);
  return sb;
}

/** Every temp file under `dir` (a write that failed must not leave one). */
function temps(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.tmp')) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

describe.skipIf(!isRoot)('a full disk (tmpfs; needs root to mount)', () => {
  it('a canonical.json that cannot be written whole is not promoted: the old record stays, no temp file, exit 1', async () => {
    const sb = await onTmpfs();
    expect((await cli(sb, ['run'])).exitCode).toBe(0);
    // A big record (fields the sweep does not know are carried forward), so its write outlasts the free space.
    const canonicalFile = path.join(sb.stateDir, 'gitea', 'canonical.json');
    writeFileSync(canonicalFile, `${JSON.stringify({ ...JSON.parse(readFileSync(canonicalFile, 'utf8')), notes: 'n'.repeat(100_000) }, null, 2)}\n`);
    const before = readFileSync(canonicalFile, 'utf8');
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    control(sb, { gitea: { fill: { file: path.join(sb.stateDir, 'filler'), leaveBytes: 16384 } } });

    const { r, doc } = await cliJson(sb, ['run']);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ recipe: 'gitea', tag: '1.1.0', outcome: 'error' });
    expect(doc.recipes[0].detail).toMatch(/cannot write .*canonical\.json \(ENOSPC.*\); the previous version is kept/);
    expect(readFileSync(canonicalFile, 'utf8')).toBe(before);
    expect(temps(sb.stateDir)).toEqual([]);
    expect(r.stderr).not.toMatch(/\n\s+at /);

    // With room again, the next run promotes.
    rmSync(path.join(sb.stateDir, 'filler'));
    control(sb, {});
    const again = await cliJson(sb, ['run']);
    expect(again.doc.recipes[0]).toMatchObject({ outcome: 'promoted', tag: '1.1.0' });
  });

  it('a history line, the sweep report and the metrics that cannot be written whole leave no torn line or half file', async () => {
    const sb = await onTmpfs();
    const metricsFile = path.join(sb.stateDir, 'ccci.prom');
    expect((await cli(sb, ['run', '--metrics-file', metricsFile])).exitCode).toBe(0);
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    // history.jsonl ends 40 bytes short of a page: the next line's write gets a short count, then ENOSPC.
    const historyFile = path.join(sb.stateDir, 'gitea', 'history.jsonl');
    const size = statSync(historyFile).size;
    const pad = (4096 - ((size + 40) % 4096)) % 4096;
    const frame = '{"type":"note","recipe":"gitea","pad":""}\n';
    appendFileSync(historyFile, `{"type":"note","recipe":"gitea","pad":"${'p'.repeat(pad - frame.length + 4096)}"}\n`);
    expect((statSync(historyFile).size + 40) % 4096).toBe(0);
    const history = readFileSync(historyFile, 'utf8');
    const metrics = readFileSync(metricsFile, 'utf8');
    const lastSweep = readFileSync(path.join(sb.stateDir, 'last-sweep.json'), 'utf8');
    control(sb, { gitea: { exit: 1, fill: { file: path.join(sb.stateDir, 'filler'), leaveBytes: 0 } } });

    const { r, doc } = await cliJson(sb, ['run', '--metrics-file', metricsFile]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(doc.recipes[0]).toMatchObject({ recipe: 'gitea', outcome: 'error' });
    expect(doc.recipes[0].detail).toMatch(/cannot append to .*history\.jsonl \(ENOSPC.*\); nothing was added/);
    expect(readFileSync(historyFile, 'utf8')).toBe(history);
    // The sweep report: each of sweeps/<stamp>.json and last-sweep.json is whole or absent (one fits in the
    // last free page or not); one that does not is one line, and the exit code says so.
    expect(r.stderr).toMatch(/^ccci-sweep: cannot write .*(sweeps\/[^/]*|last-sweep)\.json \(ENOSPC.*\); the previous version is kept$/m);
    for (const f of readdirSync(path.join(sb.stateDir, 'sweeps'))) JSON.parse(readFileSync(path.join(sb.stateDir, 'sweeps', f), 'utf8'));
    expect(r.stderr).toMatch(/^ccci-sweep: cannot write .*ccci\.prom \(ENOSPC.*\); the previous version is kept$/m);
    expect(readFileSync(metricsFile, 'utf8')).toBe(metrics);
    const lastNow = readFileSync(path.join(sb.stateDir, 'last-sweep.json'), 'utf8');
    if (lastNow !== lastSweep) expect(JSON.parse(lastNow).recipes[0]).toMatchObject({ outcome: 'error' });
    expect(temps(sb.stateDir)).toEqual([]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a lock that cannot be written whole is not taken: one line, no lock file, no temp file', async () => {
    const sb = await onTmpfs();
    // The disk is full before the sweep starts.
    const filler = path.join(sb.stateDir, 'filler');
    try {
      for (;;) appendFileSync(filler, Buffer.alloc(65536, 120));
    } catch {
      // ENOSPC: full
    }
    const r = await cli(sb, ['run']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^ccci-sweep: cannot create .*\/\.sweep\.lock \(ENOSPC: .*\)$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(sb.stateDir).filter((f) => f !== 'filler')).toEqual([]);
  });
});
