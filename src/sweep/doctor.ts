// `ccci-sweep doctor`: checks the host's configuration, then runs ONE probe through cc-ci-run that reports
// where each harness tool resolves inside the harness environment. It is the parity witness an operator
// runs after a deploy: the probe sees exactly what a recipe test launched by the sweep (or Drone) sees.

import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { type Config, urlFor } from '../core/config.js';
import { isDir, readEnrolment } from '../adapters/fs/enrolment-files.js';
import { messageOf } from '../core/errors.js';
import { lsRemoteTags } from '../adapters/git.js';
import { harnessVisibleEnv, resolveExecutable } from '../adapters/harness.js';
import type { DoctorCheck, DoctorReport, ToolProbe } from '../render/doctor.js';
import { firstLine, HARNESS_TOOLS, parseProbe, probeScript } from '../core/doctor-probe.js';

/** How long the probe may take before it counts as failed. */
export const PROBE_TIMEOUT_MS = 60_000;

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function enrolmentCheck(ccciRepo: string): DoctorCheck {
  const testsDir = path.join(ccciRepo, 'tests');
  try {
    const { recipes, problems } = readEnrolment(ccciRepo);
    const nightly = recipes.filter((r) => r.cadence === 'nightly').length;
    let detail = `${recipes.length} enrolled under ${testsDir} (${nightly} nightly, ${recipes.length - nightly} weekly)`;
    if (problems.length > 0) {
      const first = problems[0]!;
      detail += `; ${problems.length} invalid recipe_meta.py, e.g. ${first.recipe}: ${first.problem}`;
    }
    if (recipes.length === 0) detail += ': set WARM_CANONICAL = True in tests/<recipe>/recipe_meta.py';
    return { name: 'enrolment', ok: recipes.length > 0 && problems.length === 0, detail };
  } catch (err) {
    return { name: 'enrolment', ok: false, detail: messageOf(err) };
  }
}

/**
 * The state dir must be writable by whoever runs this. The sweep creates it (and its parents) on first
 * write, so a missing dir is fine when its nearest existing ancestor is writable; nothing is created here.
 */
function stateDirCheck(stateDir: string): DoctorCheck {
  const name = 'state dir';
  let st;
  try {
    st = statSync(stateDir);
  } catch {
    let ancestor = path.dirname(stateDir);
    while (!isDir(ancestor) && path.dirname(ancestor) !== ancestor) ancestor = path.dirname(ancestor);
    try {
      accessSync(ancestor, constants.W_OK | constants.X_OK);
      return { name, ok: true, detail: `${stateDir} does not exist yet; the sweep will create it (${ancestor} is writable)` };
    } catch {
      return { name, ok: false, detail: `${stateDir} does not exist and ${ancestor} is not writable: create it for the sweep's user` };
    }
  }
  if (!st.isDirectory()) return { name, ok: false, detail: `${stateDir} is not a directory` };
  const probe = path.join(stateDir, `.ccci-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, 'doctor\n', { flag: 'wx' });
    rmSync(probe, { force: true });
    return { name, ok: true, detail: `${stateDir} is writable` };
  } catch (err) {
    return { name, ok: false, detail: `${stateDir} is not writable: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}` };
  }
}

/**
 * One `git ls-remote` of the first enrolled recipe's upstream, through the same git adapter and the same
 * environment as plan: when this is green, plan can read upstream (an operator's GIT_CONFIG_GLOBAL,
 * proxy and TMPDIR included); when plan would fail, this says why in git's own words.
 */
async function gitProbe(config: Config, env: NodeJS.ProcessEnv): Promise<DoctorCheck> {
  const name = 'git ls-remote';
  let recipe: string | undefined;
  try {
    recipe = readEnrolment(config.ccciRepo).recipes[0]?.recipe;
  } catch {
    // the enrolment check says why
  }
  if (!recipe) return { name, ok: false, detail: 'not probed: no enrolled recipe to read the upstream of' };
  const url = urlFor(config.upstreamUrl, recipe);
  try {
    const tags = await lsRemoteTags(url, { env, timeoutMs: PROBE_TIMEOUT_MS, retry: { tries: 1, baseDelayMs: 0 } });
    return { name, ok: true, detail: `${url}: ${tags.size} tags (${recipe}, read as plan reads it)` };
  } catch (err) {
    return { name, ok: false, detail: `${messageOf(err)}: plan would fail the same way` };
  }
}

function scriptCheck(name: string, ccciRepo: string, rel: string, required: boolean): DoctorCheck {
  const file = path.resolve(ccciRepo, rel);
  if (isFile(file)) return { name, ok: true, detail: file };
  return required
    ? { name, ok: false, detail: `${file} is missing: every harness run would fail; fix --harness-script or the cc-ci checkout` }
    : { name, ok: true, detail: `${file} is absent (optional: promotion then seeds no warm data)` };
}

interface ProbeResult { checks: DoctorCheck[]; tools: ToolProbe[] }

async function runProbe(ccciRun: string, config: Config, env: NodeJS.ProcessEnv): Promise<ProbeResult> {
  let dir: string;
  try {
    // The TMPDIR the sweep was given (as neutralDir reads it), not necessarily this process's own.
    const tmp = env.TMPDIR ? path.resolve(env.TMPDIR) : tmpdir();
    dir = mkdtempSync(path.join(tmp, 'ccci-doctor-'));
  } catch (err) {
    // A TMPDIR that does not exist is the operator's to fix, named as such (the git check says it too).
    return { checks: [{ name: 'probe', ok: false, detail: `cannot create the probe in TMPDIR ${env.TMPDIR ? path.resolve(env.TMPDIR) : tmpdir()}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}` }], tools: [] };
  }
  try {
    const script = path.join(dir, 'probe.py');
    writeFileSync(script, probeScript());
    const r = await execa(ccciRun, [script], {
      cwd: isDir(config.ccciRepo) ? config.ccciRepo : dir,
      // What a harness would see: the same one place decides (no credentials).
      env: harnessVisibleEnv(env),
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      timeout: PROBE_TIMEOUT_MS,
    });
    const stdout = String(r.stdout ?? '');
    const stderr = String(r.stderr ?? '');
    const out = r.exitCode === 0 ? parseProbe(stdout) : null;
    if (!out) {
      const why = r.timedOut
        ? `timed out after ${PROBE_TIMEOUT_MS / 1000}s`
        : r.exitCode === undefined
          ? `could not start: ${r.shortMessage}`
          : r.exitCode !== 0
            ? `exit ${r.exitCode}`
            : 'printed no result';
      const said = firstLine(stderr) || firstLine(stdout);
      return { checks: [{ name: 'probe', ok: false, detail: `${ccciRun} ${script}: ${why}${said ? `: ${said}` : ''}` }], tools: [] };
    }
    const tools = HARNESS_TOOLS.map((t): ToolProbe => {
      if (t.kind === 'python-module') {
        const m = out.modules[t.tool];
        const p = m?.path ?? null;
        return p
          ? { tool: t.tool, path: p, ok: true, detail: 'python module' }
          : { tool: t.tool, path: null, ok: false, detail: `python module not importable${m?.error ? ` (${m.error})` : ''}; from pyEnv ps.${t.nix}` };
      }
      const p = out.commands[t.tool] ?? null;
      if (!p) return { tool: t.tool, path: null, ok: false, detail: `not on the harness PATH; from nixpkgs ${t.nix}` };
      if (t.tool === 'python3' && out.pythonWhich && out.pythonWhich !== p) {
        return { tool: t.tool, path: p, ok: true, detail: `interpreter running harness scripts; python3 on PATH is ${out.pythonWhich}` };
      }
      return { tool: t.tool, path: p, ok: true };
    });
    const missing = tools.filter((t) => !t.ok).map((t) => t.tool);
    const browsers = out.env.PLAYWRIGHT_BROWSERS_PATH ?? null;
    return {
      checks: [
        {
          name: 'probe',
          ok: missing.length === 0,
          detail: missing.length === 0 ? `all ${tools.length} harness tools found` : `missing in the harness env: ${missing.join(', ')}`,
        },
        // Informational: cc-ci-run from nix/ sets it to the store browsers.
        { name: 'PLAYWRIGHT_BROWSERS_PATH', ok: true, detail: browsers ?? '(unset: Playwright would use or download its own browsers)' },
      ],
      tools,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runDoctor(config: Config, env: NodeJS.ProcessEnv): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const repoOk = isDir(config.ccciRepo) && isDir(path.join(config.ccciRepo, 'tests'));
  checks.push({
    name: 'cc-ci repo',
    ok: repoOk,
    detail: !isDir(config.ccciRepo)
      ? `${config.ccciRepo} does not exist: set --ccci-repo, CCCI_REPO or [sweep] ccci-repo`
      : repoOk
        ? config.ccciRepo
        : `${config.ccciRepo} has no tests/ folder: is --ccci-repo pointing at the cc-ci checkout?`,
  });
  if (repoOk) checks.push(enrolmentCheck(config.ccciRepo));
  checks.push(stateDirCheck(config.stateDir));

  if (isDir(config.ccciRepo)) checks.push(await gitProbe(config, env));

  let ccciRun: string | null = null;
  try {
    ccciRun = resolveExecutable(config.ccciRun, env);
    checks.push({ name: 'cc-ci-run', ok: true, detail: ccciRun });
  } catch (err) {
    checks.push({ name: 'cc-ci-run', ok: false, detail: messageOf(err) });
  }
  if (isDir(config.ccciRepo)) {
    checks.push(scriptCheck('harness script', config.ccciRepo, config.harnessScript, true));
    checks.push(scriptCheck('seed script', config.ccciRepo, config.seedScript, false));
  }

  let tools: ToolProbe[] = [];
  if (ccciRun) {
    const probe = await runProbe(ccciRun, config, env);
    checks.push(...probe.checks);
    tools = probe.tools;
  }
  if (config.executor && config.executor !== 'local') {
    const { ciProbe } = await import('../adapters/ci/from-config.js');
    checks.push(await ciProbe(config, env));
  }
  const ok = checks.every((c) => c.ok) && tools.every((t) => t.ok);
  return { ok, checks, tools, ccciRun };
}
