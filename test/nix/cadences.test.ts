// Both cadences against one state dir, as the units run them: the nightly and weekly units' command
// lines and environments, evaluated from the module, run with the real built CLI (only the store
// paths are swapped for this machine's: the CLI for `node bin/ccci-sweep.js`, cc-ci-run for the
// sandbox's stand-in, the directories for a sandbox). Whichever starts second must not lose its run.
// Also the admin wrapper: it runs the CLI with exactly the unit's environment.
import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, type Sandbox } from '../support/sandbox.js';
import { BIN, launches, until } from '../support/cli.js';
import { execStartWords, nixEval, prelude, tempDir, type UnitAttrs } from './helpers.js';

interface Units {
  services: Record<string, UnitAttrs>;
  sweepExe: string;
  ccciRun: string;
}

/** The unit's ExecStart= as argv for this machine: the store CLI replaced by the built one. */
function argvOf(svc: UnitAttrs, sweepExe: string): string[] {
  const words = execStartWords(String(svc.serviceConfig?.ExecStart));
  expect(words[0]).toBe(sweepExe);
  return [BIN, ...words.slice(1)];
}

/** The unit's environment for this machine: store paths and directories swapped for the sandbox's. */
function envOf(svc: UnitAttrs, u: Units, sb: Sandbox, ccciRun: string): Record<string, string> {
  const env = { ...svc.environment! };
  expect(env.CCCI_RUN).toBe(u.ccciRun);
  expect(Object.keys(env)).toEqual(expect.arrayContaining(['PATH', 'HOME', 'ABRA_DIR', 'CCCI_REPO', 'CCCI_STATE_DIR']));
  return {
    ...env,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: path.join(sb.root, 'home'),
    ABRA_DIR: path.join(sb.root, 'abra'), // the sandbox clones recipes to <root>/abra/recipes
    CCCI_REPO: sb.ccciRepo,
    CCCI_STATE_DIR: sb.stateDir, // one state dir for both
    CCCI_RUN: ccciRun,
    CCCI_UPSTREAM_URL: sb.upstreamUrl,
    CCCI_SETTINGS: path.join(sb.root, 'settings.toml'),
    SANDBOX_HARNESS_LOG: sb.harnessLog,
    SANDBOX_CONTROL: sb.control,
  };
}

function collect(p: ResultPromise): { text: () => string } {
  let text = '';
  p.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
  return { text: () => text };
}

describe('nightly and weekly units against one lock', () => {
  let tmp: ReturnType<typeof tempDir>;
  let u: Units;

  beforeAll(async () => {
    tmp = tempDir('ccci-cadences-');
    u = await nixEval<Units>(`${prelude()}
      let cfg = checkHost [ baseHost (root + "/modules/ccci-sweep.nix") { services.ccci-sweep.enable = true; } ]; in {
        services = { inherit (cfg.systemd.services) ccci-sweep-nightly ccci-sweep-weekly; };
        sweepExe = lib.getExe cfg.services.ccci-sweep.package;
        ccciRun = lib.getExe cfg.ccci.harness.package;
      }`);
  });
  afterAll(() => tmp?.cleanup());

  it.each([['nightly', 'weekly'], ['weekly', 'nightly']])('%s holds the lock, the %s run started meanwhile waits and runs', async (first, second) => {
    const sb = await buildSandbox(path.join(tmp.dir, `${first}-first`), [
      { name: 'nightly-app', cadence: 'nightly', releases: [{ tag: '1.0.0' }] },
      { name: 'weekly-app', cadence: 'weekly', releases: [{ tag: '2.0.0' }] },
    ]);
    mkdirSync(path.join(sb.root, 'home'));
    // The first run's harness holds its test until the second run is seen waiting (an event, not a sleep).
    const release = path.join(sb.root, 'release');
    const entered = path.join(sb.root, 'gate-entered');
    const gated = path.join(sb.root, 'bin', 'gated-cc-ci-run');
    writeFileSync(gated, `#!/bin/sh
case "$1" in *seed*) ;; *) if [ "$RECIPE" = "${first}-app" ]; then
  : > ${JSON.stringify(entered)}
  while [ ! -e ${JSON.stringify(release)} ]; do sleep 0.05; done
fi ;; esac
exec ${JSON.stringify(sb.ccciRun)} "$@"
`);
    chmodSync(gated, 0o755);

    const run = (cadence: string) => execa('node', argvOf(u.services[`ccci-sweep-${cadence}`]!, u.sweepExe), {
      env: envOf(u.services[`ccci-sweep-${cadence}`]!, u, sb, gated), extendEnv: false, reject: false, stdin: 'ignore',
    });
    const a = run(first);
    await until(`the ${first} run to start its harness`, () => existsSync(entered));
    const b = run(second);
    const bErr = collect(b);
    let bDone = false;
    void b.then(() => { bDone = true; });
    try {
      // Without a lock wait the second run exits 3 at once: stop waiting then, the exit code below says it.
      await until(`the ${second} run to wait for the lock`, () => bDone || /waiting for its lock/.test(bErr.text()));
    } finally {
      writeFileSync(release, ''); // never leave the first run's harness waiting
    }
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.exitCode, String(ra.stderr)).toBe(0);
    expect(rb.exitCode, bErr.text()).toBe(0);
    // Neither cadence lost its run: each promoted its own recipe.
    for (const recipe of ['nightly-app', 'weekly-app']) {
      expect(existsSync(path.join(sb.stateDir, recipe, 'canonical.json')), recipe).toBe(true);
    }
    expect(launches(sb).filter((l) => !l.script.includes('seed')).map((l) => l.recipe).sort()).toEqual(['nightly-app', 'weekly-app']);
  });
  it("a stop (SIGTERM) while waiting for the lock exits with the unit's SuccessExitStatus, not as a failure", async () => {
    const sb = await buildSandbox(path.join(tmp.dir, 'stop-waiting'), [
      { name: 'nightly-app', cadence: 'nightly', releases: [{ tag: '1.0.0' }] },
      { name: 'weekly-app', cadence: 'weekly', releases: [{ tag: '2.0.0' }] },
    ]);
    mkdirSync(path.join(sb.root, 'home'));
    const entered = path.join(sb.root, 'gate-entered');
    const release = path.join(sb.root, 'release');
    const gated = path.join(sb.root, 'bin', 'gated-cc-ci-run');
    writeFileSync(gated, `#!/bin/sh
case "$1" in *seed*) ;; *) : > ${JSON.stringify(entered)}; while [ ! -e ${JSON.stringify(release)} ]; do sleep 0.05; done ;; esac
exec ${JSON.stringify(sb.ccciRun)} "$@"
`);
    chmodSync(gated, 0o755);
    const svc = (c: string) => u.services[`ccci-sweep-${c}`]!;
    const run = (c: string) => execa('node', argvOf(svc(c), u.sweepExe), { env: envOf(svc(c), u, sb, gated), extendEnv: false, reject: false, stdin: 'ignore' });
    const a = run('nightly');
    try {
      await until('the nightly run to start its harness', () => existsSync(entered));
      const b = run('weekly');
      const bErr = collect(b);
      await until('the weekly run to wait for the lock', () => /waiting for its lock/.test(bErr.text()));
      b.kill('SIGTERM'); // what systemd sends on `systemctl stop` or shutdown
      const rb = await b;
      expect(String(svc('weekly').serviceConfig?.SuccessExitStatus).split(' ')).toContain(String(rb.exitCode));
    } finally {
      writeFileSync(release, '');
    }
    expect((await a).exitCode).toBe(0);
  });
});

describe('the admin wrapper', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => { tmp = tempDir('ccci-wrapper-'); });
  afterAll(() => tmp?.cleanup());

  /** Writes the wrapper of a host whose harness user is `user`, with the programs it calls. */
  async function wrapperFor(user: string) {
    const storeDir = path.join(tmp.dir, `store-${user}`);
    const w = await nixEval<{ script: string; unitEnv: Record<string, string>; sweepExe: string; coreutils: string }>(`${prelude({ storeDir })}
      let
        cfg = evalHost [ baseHost (root + "/modules/ccci-sweep.nix") {
          ccci.harness.user = ${JSON.stringify(user)};
          services.ccci-sweep = { enable = true; mirrorUrl = "https://git.example.org/m%40x/{recipe}.git"; mirrorTokenFile = "/run/secrets/token"; };
        } ];
        wrapper = builtins.head (builtins.filter (p: p.name == "ccci-sweep") cfg.environment.systemPackages);
      in {
        inherit (wrapper) script;
        unitEnv = cfg.systemd.services.ccci-sweep-nightly.environment;
        sweepExe = lib.getExe cfg.services.ccci-sweep.package;
        coreutils = "\${lib.getBin pkgs.coreutils}";
      }`);
    // `id` from the stand-in coreutils (the wrapper's PATH is the unit's, store paths only).
    mkdirSync(path.join(w.coreutils, 'bin'), { recursive: true });
    symlinkSync((await execa('sh', ['-c', 'command -v id'])).stdout.trim(), path.join(w.coreutils, 'bin', 'id'));
    // The package's CLI: prints the environment it got.
    mkdirSync(path.dirname(w.sweepExe), { recursive: true });
    writeFileSync(w.sweepExe, `#!${process.execPath}\nconsole.log(JSON.stringify({ argv: process.argv.slice(2), env: process.env }));\n`);
    chmodSync(w.sweepExe, 0o755);
    const file = path.join(tmp.dir, `wrapper-${user}`);
    writeFileSync(file, w.script);
    return { ...w, file };
  }

  const me = () => execa('id', ['-un']).then((r) => r.stdout.trim());

  it("runs ccci-sweep with the unit's environment, PATH included, and the host token file", async () => {
    const w = await wrapperFor(await me());
    const r = await execa('bash', [w.file, 'run', '--recipe', 'gitea'], {
      extendEnv: false, reject: false, env: { PATH: '/usr/bin:/bin', CCCI_REPO: '/wrong', HOME: '/wrong', TERM: 'xterm' },
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.argv).toEqual(['run', '--recipe', 'gitea']);
    // The unit's values as the program gets them from systemd (%% is a literal %).
    for (const [k, v] of Object.entries(w.unitEnv)) expect(out.env[k], k).toBe(v.replaceAll('%%', '%'));
    expect(out.env.CCCI_MIRROR_URL).toBe('https://git.example.org/m%40x/{recipe}.git');
    expect(out.env.CCCI_MIRROR_TOKEN_FILE).toBe('/run/secrets/token');
    expect(out.env.TERM).toBe('xterm'); // the terminal is the admin's
  });

  it('refuses to run as another user than the services, naming it', async () => {
    const w = await wrapperFor('ccci-someone-else');
    const r = await execa('bash', [w.file, 'status'], { extendEnv: false, reject: false, env: { PATH: '/usr/bin:/bin' } });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('ccci-sweep: run this as ccci-someone-else, the user of the sweep services (sudo -u ccci-someone-else ccci-sweep ...)');
  });
});
