// `verify` end to end: the canonical's tag through the stand-in cc-ci-run with CCCI_QUICK/CCCI_VERIFY, never
// a promotion, the clone put back, a `verify` line in history, metrics of the last verify, exit 0/1.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRelease } from '../support/sandbox.js';
import { cli, cliJson, control, launches, readJson, sandbox } from '../support/cli.js';
import { git } from '../support/git.js';

const history = (sb: { stateDir: string }, recipe: string) =>
  readFileSync(path.join(sb.stateDir, recipe, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('verify', () => {
  it('tests each canonical quickly, never promotes, restores the clone, records verify lines and metrics', async () => {
    const sb = await sandbox([
      { name: 'gitea', releases: [{ tag: '1.0.0' }] }, { name: 'lauti', releases: [{ tag: '2.0.0' }] }, { name: 'none', releases: [{ tag: '0.1.0' }] },
    ]);
    expect((await cli(sb, ['run', '--recipe', 'gitea', '--recipe', 'lauti'])).exitCode).toBe(0);
    // A newer release upstream is not what verify tests: it tests what is deployed.
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    const canonical = readFileSync(path.join(sb.stateDir, 'gitea', 'canonical.json'), 'utf8');
    const before = launches(sb).length;
    const metrics = path.join(sb.root, 'ccci.prom');

    const { r, doc } = await cliJson(sb, ['verify', '--metrics-file', metrics]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.recipes.map((x: any) => [x.recipe, x.outcome, x.tag])).toEqual([['gitea', 'verified', '1.0.0'], ['lauti', 'verified', '2.0.0'], ['none', 'skipped', null]]);
    const runs = launches(sb).slice(before);
    expect(runs.map((l) => [l.recipe, l.script, l.env.CCCI_SWEEP_TAG, l.env.CCCI_QUICK, l.env.CCCI_VERIFY])).toEqual([
      ['gitea', 'runner/run_recipe_ci.py', '1.0.0', '1', '1'], ['lauti', 'runner/run_recipe_ci.py', '2.0.0', '1', '1'],
    ]);
    expect(runs[0]!.head).toBe(git(path.join(sb.upstreamDir, 'gitea.git'), 'rev-parse', '1.0.0^{commit}'));
    expect(runs[0]!.env.CCCI_UPGRADE_BASE).toBeUndefined();
    expect(runs[0]!.env).toMatchObject({ RECIPE: 'gitea', CCCI_SWEEP: '1', CCCI_SKIP_FETCH: '1' });
    expect(readFileSync(path.join(sb.stateDir, 'gitea', 'canonical.json'), 'utf8')).toBe(canonical);
    expect(git(path.join(sb.recipesDir, 'gitea'), 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(history(sb, 'gitea').at(-1)).toMatchObject({ type: 'verify', recipe: 'gitea', tag: '1.0.0', outcome: 'verified', exitCode: 0 });
    const prom = readFileSync(metrics, 'utf8');
    expect(prom).toMatch(/^ccci_recipe_last_verify_ok\{recipe="gitea"\} 1$/m);
    expect(prom).toMatch(/^ccci_recipe_last_verify_timestamp_seconds\{recipe="gitea"\} \d+(\.\d+)?$/m);

    // A failing verify: exit 1, verify-failed in history; status and the next run's metrics show it.
    control(sb, { lauti: { exit: 1 } });
    const failed = await cliJson(sb, ['verify', '--recipe', 'lauti']);
    expect(failed.r.exitCode).toBe(1);
    expect(failed.doc.recipes).toEqual([expect.objectContaining({ recipe: 'lauti', outcome: 'verify-failed', detail: 'harness exited 1' })]);
    expect(history(sb, 'lauti').at(-1)).toMatchObject({ type: 'verify', outcome: 'verify-failed', detail: 'harness exited 1' });
    expect(readJson(path.join(sb.stateDir, 'lauti', 'canonical.json'))).toMatchObject({ version: '2.0.0' });
    const st = await cliJson(sb, ['status', '--recipe', 'lauti']);
    expect(st.doc.recipes[0].lastVerify).toMatchObject({ tag: '2.0.0', outcome: 'verify-failed' });
    control(sb, {});
    expect((await cli(sb, ['run', '--recipe', 'lauti', '--metrics-file', metrics])).exitCode).toBe(0);
    expect(readFileSync(metrics, 'utf8')).toMatch(/^ccci_recipe_last_verify_ok\{recipe="lauti"\} 0$/m);
    // A verify line does not make the release known red, nor count as an attempt.
    expect((await cliJson(sb, ['plan', '--recipe', 'lauti'])).doc.recipes[0]).toMatchObject({ reason: 'no-new-version' });
    expect((await cli(sb, ['verify', '--recipe', 'nope'])).exitCode).toBe(2);
  });
});
