// The units services.ccci-sweep (and the Drone runner) describe: evaluated with the stand-ins into
// their NixOS attributes, rendered to unit files as NixOS would, and checked by systemd-analyze
// verify. Stand-in packages live in a temp dir, where the ExecStart= programs are created for real.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execStartWords, nixEval, prelude, renderUnit, tempDir, type UnitAttrs } from './helpers.js';

interface Evaluated {
  services: Record<string, UnitAttrs>;
  timers: Record<string, UnitAttrs>;
  harnessTools: string[];
  harnessEnv: Record<string, string>;
  ccciRun: string;
  sweepPackage: string;
  tmpfiles: string[];
}

const SWEEP_UNITS = ['ccci-sweep-nightly', 'ccci-sweep-weekly'];

function evalUnits(storeDir: string, modules: string): Promise<Evaluated> {
  return nixEval<Evaluated>(`${prelude({ storeDir })}
    let cfg = evalHost ${modules}; in {
      services = cfg.systemd.services;
      timers = cfg.systemd.timers;
      harnessTools = cfg.ccci.harness.tools;
      harnessEnv = cfg.ccci.harness.env;
      ccciRun = "\${cfg.ccci.harness.package}/bin/cc-ci-run";
      sweepPackage = "\${cfg.services.ccci-sweep.package}";
      tmpfiles = cfg.systemd.tmpfiles.rules;
    }`);
}

/** Writes the units into `dir` and creates each service's ExecStart= program; returns the unit files. */
function writeUnits(dir: string, storeDir: string, ev: Evaluated): string[] {
  const files: string[] = [];
  for (const [name, svc] of Object.entries(ev.services)) {
    const bin = execStartWords(String(svc.serviceConfig?.ExecStart ?? ''))[0] ?? '';
    // Only a stand-in store path is created: a program found any other way would be a bug.
    expect(bin.startsWith(`${storeDir}/`), `${name}: ExecStart ${bin} is not a store path`).toBe(true);
    mkdirSync(path.dirname(bin), { recursive: true });
    writeFileSync(bin, '#!/bin/sh\nexit 0\n');
    chmodSync(bin, 0o755);
    files.push(path.join(dir, `${name}.service`));
    writeFileSync(files.at(-1)!, renderUnit('service', svc));
  }
  for (const [name, timer] of Object.entries(ev.timers)) {
    files.push(path.join(dir, `${name}.timer`));
    writeFileSync(files.at(-1)!, renderUnit('timer', timer));
  }
  return files;
}

/**
 * systemd-analyze verify on the files. Accepted: exit 0 and no output line about our units (by unit
 * name or by path in `dir`). Lines about the rest of the machine (a container's own units) are
 * returned separately and not held against us.
 */
async function verify(dir: string, files: string[]): Promise<{ exitCode: number; ours: string[]; other: string[] }> {
  const r = await execa('systemd-analyze', ['verify', '--man=no', ...files], { reject: false, all: true });
  const names = files.map((f) => path.basename(f));
  const out = (r.all ?? '').split('\n').filter((l) => l.trim() !== '');
  const isOurs = (l: string) => l.includes(dir) || names.some((n) => l.includes(n));
  return { exitCode: r.exitCode ?? -1, ours: out.filter(isOurs), other: out.filter((l) => !isOurs(l)) };
}

async function timespanUs(span: string): Promise<number> {
  const r = await execa('systemd-analyze', ['timespan', span]);
  const m = /μs:\s*(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`cannot read systemd-analyze timespan output:\n${r.stdout}`);
  return Number(m[1]);
}

describe('systemd units of the example host', () => {
  let tmp: ReturnType<typeof tempDir>;
  let storeDir: string;
  let unitDir: string;
  let ev: Evaluated;
  let files: string[];

  beforeAll(async () => {
    tmp = tempDir('ccci-units-');
    storeDir = path.join(tmp.dir, 'store');
    unitDir = path.join(tmp.dir, 'units');
    mkdirSync(unitDir);
    ev = await evalUnits(storeDir, '[ (root + "/hosts/example.nix") ]');
    files = writeUnits(unitDir, storeDir, ev);
  });
  afterAll(() => tmp?.cleanup());

  it('pass systemd-analyze verify', async () => {
    expect(Object.keys(ev.services).sort()).toEqual(['ccci-sweep-nightly', 'ccci-sweep-weekly', 'drone-runner-exec']);
    expect(Object.keys(ev.timers).sort()).toEqual(SWEEP_UNITS);
    const r = await verify(unitDir, files);
    expect(r.ours).toEqual([]);
    expect(r.exitCode).toBe(0);
  });

  it.each(SWEEP_UNITS)('%s runs ccci-sweep with its cadence and the store cc-ci-run', (unit) => {
    const svc = ev.services[unit]!;
    const cadence = unit.replace('ccci-sweep-', '');
    expect(svc.serviceConfig?.Type).toBe('oneshot');
    expect(execStartWords(String(svc.serviceConfig?.ExecStart))).toEqual([
      `${ev.sweepPackage}/bin/ccci-sweep`, 'run', '--cadence', cadence,
      '--cc-ci-run', ev.ccciRun, '--mirror-token-file', '%d/mirror-token',
    ]);
    expect(ev.ccciRun).toBe(`${storeDir}/cc-ci-run/bin/cc-ci-run`);
  });

  it.each(SWEEP_UNITS)('%s gets its tools from the harness only, and its settings explicitly', (unit) => {
    const svc = ev.services[unit]!;
    expect(svc.path).toEqual(ev.harnessTools);
    expect(svc.environment).toEqual({
      ...ev.harnessEnv,
      CCCI_REPO: '/etc/cc-ci',
      CCCI_STATE_DIR: '/var/lib/ci-warm',
      CCCI_MIRROR_URL: 'https://git.example.org/recipe-mirror/{recipe}.git',
    });
    expect(svc.serviceConfig?.LoadCredential).toBe('mirror-token:/run/secrets/ccci-mirror-token');
    expect(svc.restartIfChanged).toBe(false);
  });

  it.each(SWEEP_UNITS)('%s leaves the harness time to tear down on stop', async (unit) => {
    const sc = ev.services[unit]!.serviceConfig!;
    // SIGTERM to the sweep only (it forwards it), and longer than one harness's 120s grace.
    expect(sc.KillMode).toBe('mixed');
    expect(await timespanUs(String(sc.TimeoutStopSec))).toBeGreaterThanOrEqual(10 * 60 * 1e6);
  });

  it.each(SWEEP_UNITS)('%s.timer is persistent, randomized and on a valid calendar', async (unit) => {
    const t = ev.timers[unit]!;
    expect(t.wantedBy).toEqual(['timers.target']);
    expect(t.timerConfig?.Persistent).toBe(true);
    expect(await timespanUs(String(t.timerConfig?.RandomizedDelaySec))).toBeGreaterThan(0);
    expect(t.timerConfig?.OnCalendar).toBe(unit.endsWith('nightly') ? '*-*-* 02:00:00' : 'Sun *-*-* 04:00:00');
    const r = await execa('systemd-analyze', ['calendar', String(t.timerConfig?.OnCalendar)], { reject: false });
    expect(r.exitCode).toBe(0);
  });

  it('no unit prepends a PATH of its own', () => {
    for (const [name, svc] of Object.entries(ev.services)) {
      expect(Object.keys(svc.environment ?? {}), name).not.toContain('PATH');
      expect(JSON.stringify(svc), name).not.toContain('/run/current-system');
    }
    expect(ev.services['drone-runner-exec']!.path).toEqual([`${storeDir}/cc-ci-run`, ...ev.harnessTools]);
  });

  it('creates the state directory', () => {
    expect(ev.tmpfiles).toContain('d /var/lib/ci-warm 0750 root - -');
  });
});

describe('services.ccci-sweep options reach the units', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => { tmp = tempDir('ccci-units-opt-'); });
  afterAll(() => tmp?.cleanup());

  it('without a mirror: no mirror URL, no credential, no token flag', async () => {
    const ev = await evalUnits(path.join(tmp.dir, 'store'), `[
      (root + "/modules/ccci-sweep.nix")
      { services.ccci-sweep.enable = true; }
    ]`);
    const svc = ev.services['ccci-sweep-nightly']!;
    expect(svc.environment).not.toHaveProperty('CCCI_MIRROR_URL');
    expect(svc.environment).not.toHaveProperty('CCCI_RECIPES_DIR');
    expect(svc.serviceConfig).not.toHaveProperty('LoadCredential');
    expect(execStartWords(String(svc.serviceConfig?.ExecStart))).not.toContain('--mirror-token-file');
    expect(ev.timers).toHaveProperty('ccci-sweep-weekly');
  });

  it('disabled: no units at all', async () => {
    const ev = await evalUnits(path.join(tmp.dir, 'store'), '[ (root + "/modules/ccci-sweep.nix") ]');
    expect(ev.services).toEqual({});
    expect(ev.timers).toEqual({});
  });

  it('paths, schedules and extra arguments are passed as given, specifiers escaped', async () => {
    const ev = await evalUnits(path.join(tmp.dir, 'store'), `[
      (root + "/modules/ccci-sweep.nix")
      { services.ccci-sweep = {
          enable = true; ccciRepo = "/srv/cc-ci"; stateDir = "/srv/warm"; recipesDir = "/srv/recipes";
          schedules.weekly = "Sat *-*-* 05:30:00"; extraArgs = [ "--jobs" "2" "--recipe" "50%-off" ];
        }; }
    ]`);
    const weekly = ev.services['ccci-sweep-weekly']!;
    expect(weekly.environment).toMatchObject({
      CCCI_REPO: '/srv/cc-ci', CCCI_STATE_DIR: '/srv/warm', CCCI_RECIPES_DIR: '/srv/recipes',
    });
    // %% is systemd's literal %: the program receives "50%-off".
    expect(execStartWords(String(weekly.serviceConfig?.ExecStart)).slice(-4)).toEqual(['--jobs', '2', '--recipe', '50%%-off']);
    expect(ev.timers['ccci-sweep-weekly']!.timerConfig?.OnCalendar).toBe('Sat *-*-* 05:30:00');
    expect(ev.tmpfiles).toContain('d /srv/warm 0750 root - -');
  });

  it('a bad schedule is caught by systemd-analyze verify (the check is not vacuous)', async () => {
    const storeDir = path.join(tmp.dir, 'bad-store');
    const unitDir = path.join(tmp.dir, 'bad-units');
    mkdirSync(unitDir);
    const ev = await evalUnits(storeDir, `[
      (root + "/modules/ccci-sweep.nix")
      { services.ccci-sweep = { enable = true; schedules.nightly = "every other full moon"; }; }
    ]`);
    const r = await verify(unitDir, writeUnits(unitDir, storeDir, ev));
    expect(r.exitCode).not.toBe(0);
    expect(r.ours.join('\n')).toMatch(/ccci-sweep-nightly\.timer.*calendar/);
    expect(r.ours.join('\n')).not.toMatch(/ccci-sweep-weekly/);
  });
});
