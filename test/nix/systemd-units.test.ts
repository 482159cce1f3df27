// The units services.ccci-sweep and the CI runner modules describe: evaluated with the stand-ins into
// their NixOS attributes (the stand-in NixOS appends its five packages to every PATH, as
// nixos/lib/systemd-lib.nix does), rendered to unit files as NixOS would, and checked by
// systemd-analyze verify. Stand-in packages live in a temp dir, where the ExecStart= programs are
// created for real.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/duration.js';
import { execStartWords, nixEval, nixEvalError, prelude, renderUnit, tempDir, type UnitAttrs } from './helpers.js';

interface Evaluated {
  services: Record<string, UnitAttrs>;
  timers: Record<string, UnitAttrs>;
  harnessBins: string[];
  nixosBins: string[];
  harnessEnv: Record<string, string>;
  ccciRun: string;
  sweepExe: string;
  tmpfiles: string[];
}

const SWEEP_UNITS = ['ccci-sweep-nightly', 'ccci-sweep-weekly'];

function evalUnits(storeDir: string, modules: string): Promise<Evaluated> {
  return nixEval<Evaluated>(`${prelude({ storeDir })}
    let cfg = checkHost ${modules}; in {
      services = cfg.systemd.services;
      timers = cfg.systemd.timers;
      harnessBins = map (p: "\${lib.getBin p}") cfg.ccci.harness.tools;
      nixosBins = map (p: "\${lib.getBin p}") [ pkgs.coreutils pkgs.findutils pkgs.gnugrep pkgs.gnused pkgs.systemd ];
      harnessEnv = cfg.ccci.harness.env;
      ccciRun = lib.getExe cfg.ccci.harness.package;
      sweepExe = lib.getExe cfg.services.ccci-sweep.package;
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
  const m = /(?:μs|us):\s*(\d+)/.exec(r.stdout); // "us" without a UTF-8 locale
  if (!m) throw new Error(`cannot read systemd-analyze timespan output:\n${r.stdout}`);
  return Number(m[1]);
}

const EXAMPLE_WITH_DRONE = '[ (root + "/hosts/example.nix") { services.ccci-drone-runner.enable = true; } ]';

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
    ev = await evalUnits(storeDir, EXAMPLE_WITH_DRONE);
    files = writeUnits(unitDir, storeDir, ev);
  });
  afterAll(() => tmp?.cleanup());

  it('pass systemd-analyze verify', async () => {
    expect(Object.keys(ev.services).sort())
      .toEqual(['ccci-sweep-nightly', 'ccci-sweep-weekly', 'drone-runner-exec', 'woodpecker-agent-ccci']);
    expect(Object.keys(ev.timers).sort()).toEqual(SWEEP_UNITS);
    const r = await verify(unitDir, files);
    expect(r.ours).toEqual([]);
    expect(r.exitCode).toBe(0);
  });

  it('every PATH is what NixOS renders: the unit path, then coreutils findutils gnugrep gnused systemd; bin, then sbin', () => {
    const expected = (pkgs: string[]) => [...pkgs.map((p) => `${p}/bin`), ...pkgs.map((p) => `${p}/sbin`)].join(':');
    const ccciRunPkg = path.dirname(path.dirname(ev.ccciRun));
    expect(ev.nixosBins.map((p) => path.basename(p))).toEqual(['coreutils', 'findutils', 'gnugrep', 'gnused', 'systemd']);
    for (const unit of SWEEP_UNITS) {
      expect(ev.services[unit]!.environment!.PATH, unit).toBe(expected([...ev.harnessBins, ...ev.nixosBins]));
    }
    for (const unit of ['drone-runner-exec', 'woodpecker-agent-ccci']) {
      expect(ev.services[unit]!.environment!.PATH, unit).toBe(expected([ccciRunPkg, ...ev.harnessBins, ...ev.nixosBins]));
    }
    // xz's programs are in its `bin` output, which is what makeBinPath picks.
    expect(ev.harnessBins).toContain(`${storeDir}/xz-bin`);
    const rendered = readFileSync(path.join(unitDir, 'ccci-sweep-nightly.service'), 'utf8');
    expect(rendered).toContain(`Environment="PATH=${expected([...ev.harnessBins, ...ev.nixosBins])}"`);
  });

  it('no Environment= value holds a bare % (systemd would read it as a specifier)', () => {
    for (const [name, svc] of Object.entries(ev.services)) {
      for (const [k, v] of Object.entries(svc.environment ?? {})) expect(v, `${name}: ${k}`).toMatch(/^(?:[^%]|%%)*$/);
    }
  });

  it.each(SWEEP_UNITS)('%s runs ccci-sweep with its cadence, a bounded lock wait and the credential', (unit) => {
    const svc = ev.services[unit]!;
    const cadence = unit.replace('ccci-sweep-', '');
    expect(svc.serviceConfig?.Type).toBe('oneshot');
    expect(execStartWords(String(svc.serviceConfig?.ExecStart))).toEqual([
      ev.sweepExe, 'run', '--cadence', cadence, '--wait-lock', '20h', '--mirror-token-file', '%d/mirror-token',
    ]);
    expect(ev.sweepExe).toBe(`${storeDir}/ccci-sweep/bin/ccci-sweep`);
  });

  it.each(SWEEP_UNITS)('%s gets its settings explicitly: HOME, cc-ci-run, the harness env', (unit) => {
    const svc = ev.services[unit]!;
    const { PATH: _path, ...env } = svc.environment!;
    expect(env).toEqual({
      ...ev.harnessEnv,
      HOME: '/var/lib/ccci',
      CCCI_REPO: '/etc/cc-ci',
      CCCI_STATE_DIR: '/var/lib/ci-warm',
      CCCI_RUN: ev.ccciRun,
      CCCI_MIRROR_URL: 'https://git.example.org/recipe-mirror/{recipe}.git',
    });
    expect(ev.ccciRun).toBe(`${storeDir}/cc-ci-run/bin/cc-ci-run`);
    expect(svc.serviceConfig).toMatchObject({
      User: 'ccci',
      LoadCredential: 'mirror-token:/run/secrets/ccci-mirror-token',
      StateDirectory: 'ci-warm',
      StateDirectoryMode: '0750',
    });
  });

  it.each(SWEEP_UNITS)('%s survives deploys and removal from the configuration', (unit) => {
    const svc = ev.services[unit]!;
    expect(svc.restartIfChanged).toBe(false);
    expect(svc.unitConfig?.['X-StopOnRemoval']).toBe(false);
    const rendered = readFileSync(path.join(unitDir, `${unit}.service`), 'utf8');
    expect(rendered).toMatch(/^X-RestartIfChanged=false$/m);
    expect(rendered).toMatch(/^X-StopOnRemoval=false$/m);
  });

  it.each(SWEEP_UNITS)('%s has a start timeout covering the lock wait, treats 143 as a stop, and leaves time to tear down', async (unit) => {
    const sc = ev.services[unit]!.serviceConfig!;
    const words = execStartWords(String(sc.ExecStart));
    const wait = words[words.indexOf('--wait-lock') + 1]!;
    expect(await timespanUs(String(sc.TimeoutStartSec))).toBe(await timespanUs(wait));
    expect(await timespanUs(String(sc.TimeoutStartSec))).toBeGreaterThanOrEqual(6 * 3600 * 1e6);
    expect(sc.SuccessExitStatus).toBe('143');
    // SIGTERM to the sweep only (it forwards it), and longer than one harness's 120s grace.
    expect(sc.KillMode).toBe('mixed');
    expect(await timespanUs(String(sc.TimeoutStopSec))).toBeGreaterThanOrEqual(10 * 60 * 1e6);
  });

  it('the weekly sweep starts after a nightly one that is running (both due at once after downtime)', () => {
    expect(ev.services['ccci-sweep-weekly']!.after).toContain('ccci-sweep-nightly.service');
    expect(ev.services['ccci-sweep-nightly']!.after).not.toContain('ccci-sweep-weekly.service');
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

  it('the Drone runner: cgroup-wide SIGTERM, no restart on deploy, a restart delay, no PATH overrides', () => {
    const d = ev.services['drone-runner-exec']!;
    expect(d.restartIfChanged).toBe(false);
    expect(d.serviceConfig).toMatchObject({
      ExecStart: `${storeDir}/drone-runner-exec/bin/drone-runner-exec service run`,
      User: 'ccci',
      KillMode: 'control-group',
      Restart: 'on-failure',
      RestartSec: '15s',
      UnsetEnvironment: ['DRONE_RUNNER_PATH', 'DRONE_RUNNER_ENVIRON', 'DRONE_RUNNER_ENVFILE'],
    });
    expect(readFileSync(path.join(unitDir, 'drone-runner-exec.service'), 'utf8')).toMatch(/^UnsetEnvironment=DRONE_RUNNER_ENVFILE$/m);
  });

  it("the Woodpecker agent: nixpkgs' unit, local backend, relaxed for a docker/abra/Chromium harness", () => {
    const w = ev.services['woodpecker-agent-ccci']!;
    expect(w.environment).toMatchObject({ WOODPECKER_BACKEND: 'local', WOODPECKER_SERVER: 'woodpecker.example.org:9000' });
    expect(w.restartIfChanged).toBe(false);
    expect(w.serviceConfig).toMatchObject({
      ExecStart: `${storeDir}/woodpecker-agent/bin/woodpecker-agent`,
      DynamicUser: false,
      User: 'ccci',
      SupplementaryGroups: ['docker'],
      PrivateUsers: false,
      ProtectSystem: 'full',
      MemoryDenyWriteExecute: false,
      SystemCallFilter: [],
      KillMode: 'control-group',
      EnvironmentFile: ['/run/secrets/woodpecker-agent.env'],
    });
  });

  it('no unit sets a PATH of its own', () => {
    for (const [name, svc] of Object.entries(ev.services)) {
      expect(JSON.stringify(svc), name).not.toContain('/run/current-system');
    }
  });

  it('creates ABRA_DIR for the harness user, and no tmpfiles rule for the StateDirectory', () => {
    expect(ev.tmpfiles).toEqual(['d /var/lib/ccci-abra 0750 ccci - -']);
  });
});

describe('services.ccci-sweep options reach the units', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => { tmp = tempDir('ccci-units-opt-'); });
  afterAll(() => tmp?.cleanup());

  it('without a mirror: no mirror URL, no credential, no token flag', async () => {
    const ev = await evalUnits(path.join(tmp.dir, 'store'), `[
      baseHost (root + "/modules/ccci-sweep.nix")
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
    const ev = await evalUnits(path.join(tmp.dir, 'store'), '[ baseHost (root + "/modules/ccci-sweep.nix") ]');
    expect(ev.services).toEqual({});
    expect(ev.timers).toEqual({});
  });

  it('a % in an operator string reaches the program as %, never as a systemd specifier', async () => {
    const storeDir = path.join(tmp.dir, 'pct-store');
    const unitDir = path.join(tmp.dir, 'pct-units');
    mkdirSync(unitDir);
    const ev = await evalUnits(storeDir, `[
      baseHost (root + "/modules/ccci-sweep.nix") (root + "/modules/drone-runner.nix")
      { services.ccci-sweep = { enable = true; stateDir = "/srv/50%"; mirrorUrl = "https://git.example.org/a%40b/{recipe}.git";
          mirrorTokenFile = "/run/secrets/t%d"; };
        services.ccci-drone-runner = { enable = true; settings.DRONE_RUNNER_LABELS = "pct:100%"; environmentFile = "/run/secrets/d%n"; }; }
    ]`);
    const svc = ev.services['ccci-sweep-nightly']!;
    expect(svc.environment).toMatchObject({ CCCI_STATE_DIR: '/srv/50%%', CCCI_MIRROR_URL: 'https://git.example.org/a%%40b/{recipe}.git' });
    expect(svc.serviceConfig?.LoadCredential).toBe('mirror-token:/run/secrets/t%%d');
    expect(ev.services['drone-runner-exec']!.environment!.DRONE_RUNNER_LABELS).toBe('pct:100%%');
    expect(ev.services['drone-runner-exec']!.serviceConfig!.EnvironmentFile).toBe('/run/secrets/d%%n');
    expect(ev.tmpfiles).toContain('d /srv/50%% 0750 ccci - -');
    const r = await verify(unitDir, writeUnits(unitDir, storeDir, ev));
    expect(r.ours).toEqual([]);
  });

  it('paths, timers, timeouts and extra arguments are passed as given, specifiers escaped', async () => {
    const ev = await evalUnits(path.join(tmp.dir, 'store'), `[
      baseHost (root + "/modules/ccci-sweep.nix")
      { services.ccci-sweep = {
          enable = true; ccciRepo = "/srv/cc-ci"; stateDir = "/srv/warm"; recipesDir = "/srv/recipes";
          weekly.timerConfig = { OnCalendar = "Sat *-*-* 05:30:00"; };
          nightly.timerConfig = null;
          randomizedDelaySec = "1h"; persistent = false; timeoutStart = "6h";
          extraArgs = [ "--jobs" "2" "--recipe" "50%-off" ];
        }; }
    ]`);
    const weekly = ev.services['ccci-sweep-weekly']!;
    expect(weekly.environment).toMatchObject({
      CCCI_REPO: '/srv/cc-ci', CCCI_STATE_DIR: '/srv/warm', CCCI_RECIPES_DIR: '/srv/recipes',
    });
    // %% is systemd's literal %: the program receives "50%-off".
    expect(execStartWords(String(weekly.serviceConfig?.ExecStart)).slice(-6)).toEqual(['--wait-lock', '6h', '--jobs', '2', '--recipe', '50%%-off']);
    expect(weekly.serviceConfig?.TimeoutStartSec).toBe('6h');
    // A null timerConfig: the service stays (for by-hand runs), its timer goes.
    expect(Object.keys(ev.timers)).toEqual(['ccci-sweep-weekly']);
    expect(Object.keys(ev.services).sort()).toEqual(SWEEP_UNITS);
    expect(ev.timers['ccci-sweep-weekly']!.timerConfig).toEqual({
      OnCalendar: 'Sat *-*-* 05:30:00', Persistent: false, RandomizedDelaySec: '1h',
    });
    // Not the default state dir: tmpfiles creates it, no StateDirectory=.
    expect(ev.tmpfiles).toContain('d /srv/warm 0750 ccci - -');
    expect(weekly.serviceConfig).not.toHaveProperty('StateDirectory');
  });

  it('timeoutStart is one span that systemd (TimeoutStartSec=) and the CLI (--wait-lock) read alike', async () => {
    for (const span of ['20h', '1h30m', '90m', '45s', '500ms']) {
      const ev = await evalUnits(path.join(tmp.dir, 'store'), `[
        baseHost (root + "/modules/ccci-sweep.nix") { services.ccci-sweep = { enable = true; timeoutStart = "${span}"; }; }
      ]`);
      const sc = ev.services['ccci-sweep-nightly']!.serviceConfig!;
      const words = execStartWords(String(sc.ExecStart));
      const wait = words[words.indexOf('--wait-lock') + 1]!;
      expect(await timespanUs(String(sc.TimeoutStartSec)), span).toBe(parseDuration(wait)! * 1000);
    }
    // systemd-only spellings (which the CLI would refuse) are refused at evaluation.
    for (const span of ['15min', '1d', '2 h']) {
      expect(await nixEvalError(`${prelude()} (checkHost [ baseHost (root + "/modules/ccci-sweep.nix")
        { services.ccci-sweep = { enable = true; timeoutStart = "${span}"; }; } ]).systemd.services`), span)
        .toMatch(/timeoutStart' .*is not of type string matching the pattern/);
    }
  });

  it('verify is off by default; enabled, it is a weekly timer and a oneshot like the sweeps; onFailure reaches every unit', async () => {
    const off = await evalUnits(path.join(tmp.dir, 'store'), '[ baseHost (root + "/modules/ccci-sweep.nix") { services.ccci-sweep.enable = true; } ]');
    expect(Object.keys(off.services).sort()).toEqual(SWEEP_UNITS);
    expect(Object.keys(off.timers).sort()).toEqual(SWEEP_UNITS);
    for (const u of SWEEP_UNITS) expect(off.services[u]).not.toHaveProperty('onFailure');

    const storeDir = path.join(tmp.dir, 'verify-store');
    const unitDir = path.join(tmp.dir, 'verify-units');
    mkdirSync(unitDir);
    const ev = await evalUnits(storeDir, `[
      baseHost (root + "/modules/ccci-sweep.nix")
      { services.ccci-sweep = {
          enable = true; onFailure = [ "notify-admins@%n.service" ];
          verify = { enable = true; extraArgs = [ "--metrics-file" "/var/lib/node-exporter/ccci.prom" ]; };
        }; }
    ]`);
    expect(Object.keys(ev.services).sort()).toEqual([...SWEEP_UNITS, 'ccci-sweep-verify'].sort());
    const v = ev.services['ccci-sweep-verify']!;
    expect(execStartWords(String(v.serviceConfig?.ExecStart))).toEqual([
      ev.sweepExe, 'verify', '--wait-lock', '20h', '--metrics-file', '/var/lib/node-exporter/ccci.prom',
    ]);
    expect(v.serviceConfig).toMatchObject({ Type: 'oneshot', User: 'ccci', SuccessExitStatus: '143', KillMode: 'mixed' });
    expect(v.environment).toEqual(ev.services['ccci-sweep-nightly']!.environment);
    expect(ev.timers['ccci-sweep-verify']!.timerConfig).toMatchObject({ OnCalendar: 'Sat *-*-* 04:00:00', Persistent: true });
    for (const u of [...SWEEP_UNITS, 'ccci-sweep-verify']) expect(ev.services[u]!.onFailure, u).toEqual(['notify-admins@%n.service']);
    const files = writeUnits(unitDir, storeDir, ev);
    expect(readFileSync(path.join(unitDir, 'ccci-sweep-nightly.service'), 'utf8')).toMatch(/^OnFailure=notify-admins@%n\.service$/m);
    const r = await verify(unitDir, files);
    // The alert unit itself is the operator's, not defined here: systemd-analyze may name it as missing.
    expect(r.ours.filter((l) => !l.includes('notify-admins@'))).toEqual([]);
  });

  it('a bad schedule is caught by systemd-analyze verify (the check is not vacuous)', async () => {
    const storeDir = path.join(tmp.dir, 'bad-store');
    const unitDir = path.join(tmp.dir, 'bad-units');
    mkdirSync(unitDir);
    const ev = await evalUnits(storeDir, `[
      baseHost (root + "/modules/ccci-sweep.nix")
      { services.ccci-sweep = { enable = true; nightly.timerConfig.OnCalendar = "every other full moon"; }; }
    ]`);
    const r = await verify(unitDir, writeUnits(unitDir, storeDir, ev));
    expect(r.exitCode).not.toBe(0);
    expect(r.ours.join('\n')).toMatch(/ccci-sweep-nightly\.timer.*calendar/);
    expect(r.ours.join('\n')).not.toMatch(/ccci-sweep-weekly/);
  });
});
