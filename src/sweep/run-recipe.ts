// One recipe's test: fetch -> check out the tag -> cc-ci-run -> gate -> promote -> restore the checkout.
// Every failure becomes the recipe's outcome, so one recipe never stops the others.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { effectiveTimeout } from '../core/attempts.js';
import { appendHistory, createRunDir, readCanonical, recipeStateDir, writeCanonical } from '../adapters/fs/state-store.js';
import { promotedRecord } from '../core/canonical-record.js';
import { COMPOSE_FILES, versionLabelOfFiles } from '../core/compose.js';
import { urlFor } from '../core/config.js';
import { upgradeBaseFor } from '../core/decision.js';
import { messageOf } from '../core/errors.js';
import { type Checkout, checkoutDetached, cloneStatus, fetchRelease, filesAtCommit, NotACommitError, restoreCheckout } from '../adapters/git.js';
import { HARNESS_EXIT, harnessEnv, type HarnessResult, runHarness } from '../adapters/harness.js';
import { type Logger, scrub } from '../adapters/log.js';
import { type Lock, type LockInfo, processStart, recipeBusy, recipeLockPath, tryLock } from '../adapters/fs/lock.js';
import { parseRunResults, promoteGate, type RunResults, type TreeAfter } from '../core/promote-gate.js';
import { classifyTags } from '../core/version.js';
import { VERIFY_ENV, verifyEntry } from '../core/verify.js';
import { startedBy, type SweepContext } from './context.js';
import type { Outcome, Planned, RunResult } from '../core/sweep-types.js';
import type { RecipeRun } from './executor.js';
import { decideFor } from './plan.js';
import { restoreAfterCrash } from './recover.js';

export function notRun(p: Planned): RunResult {
  return {
    recipe: p.recipe, decision: p.decision, reason: p.reason, tag: p.latest,
    outcome: p.decision === 'error' ? 'error' : 'skipped', exitCode: null, durationMs: 0, log: null,
    ...(p.error ? { detail: p.error } : {}),
  };
}

/**
 * One recipe's checkout+test+promote. A clone that cannot be put back afterwards is not success, whatever
 * the test said: the result says so (`restoreError`, git's full reason) and the run exits 1.
 */
export async function runRecipe(ctx: SweepContext, p: Planned, o: RecipeRun, testing: () => void): Promise<RunResult> {
  const restore: { error?: string } = {};
  const r = await testRecipe(ctx, p, o, testing, restore);
  return restore.error === undefined ? r : { ...r, restoreError: restore.error };
}

async function testRecipe(
  ctx: SweepContext, p: Planned, o: RecipeRun, testing: () => void, restore: { error?: string },
): Promise<RunResult> {
  const started = Date.now();
  let tag = p.latest!;
  let log = ctx.log.child({ recipe: p.recipe, tag });
  const result = (outcome: Outcome, more: Partial<RunResult> = {}): RunResult => ({
    recipe: p.recipe, decision: p.decision, reason: p.reason, tag, outcome, exitCode: null,
    durationMs: Date.now() - started, log: null, ...more,
  });
  if (ctx.signal?.aborted) return result('interrupted', { detail: 'sweep was stopped before this recipe started' });

  // One checkout+test+promote per recipe at a time, whoever started it (timer or operator).
  const cloneDir = path.join(ctx.config.recipesDir, p.recipe);
  let lock: Awaited<ReturnType<typeof tryLock>>;
  try {
    lock = await tryLock(recipeLockPath(recipeStateDir(ctx.config.stateDir, p.recipe)), {
      log, command: `ccci-sweep ${process.argv.slice(2).join(' ')}`, by: startedBy(ctx.env), onStale: (stale) => restoreAfterCrash(stale, log),
    });
  } catch (err) {
    return result('error', { detail: `cannot take the recipe lock or restore the clone a crashed sweep left: ${scrub(messageOf(err))}` });
  }
  if (!('release' in lock)) return result('error', { detail: recipeBusy(p.recipe, lock) });
  const tracked = trackHarness(lock, log);
  let saved: Checkout | null = null;
  // Set once a harness launch is attempted: even a launch that fails is an attempt worth remembering.
  let launched: { tag: string; tagCommit: string; log: string; startedAt: string } | null = null;
  // Why the harness's or seed script's log misses output, if it does: said in the result whatever the outcome.
  let logProblem: string | null = null;
  const withLogProblem = (r: RunResult): RunResult =>
    logProblem ? { ...r, logIncomplete: true, detail: r.detail ? `${r.detail}; ${logProblem}` : logProblem } : r;
  try {
    // 1. Upstream's branch and tags into the clone, from the explicit URL.
    const upstream = urlFor(ctx.config.upstreamUrl, p.recipe);
    let commit: string;
    for (;;) {
      try {
        commit = await ctx.writer.act(`fetch ${upstream} into ${cloneDir}`, () =>
          fetchRelease(cloneDir, upstream, tag, p.tags.get(tag)!, { log, env: ctx.env, signal: ctx.signal, defaultBranch: p.defaultBranch }));
        break;
      } catch (err) {
        // ls-remote cannot tell a tree from a commit; the fetched tag can. Such a tag is not a release:
        // decide again without it (the next plan knows it from the clone).
        if (!(err instanceof NotACommitError)) throw err;
        log.warn(messageOf(err));
        p.tags.delete(tag);
        p.notCommits.push(tag);
        const d = decideFor(
          p.tags, p.record, p.history, o, { ccciCommit: o.ccciCommit, ccciRun: o.ccciRun, testTimeoutMs: effectiveTimeout(o.testTimeoutMs) }, p.controls?.decision,
        );
        Object.assign(p, d, { ignoredTags: [...d.ignoredTags, ...p.notCommits] });
        if (d.decision !== 'run' || !d.latest) return { ...notRun(p), durationMs: Date.now() - started };
        tag = d.latest;
        log = ctx.log.child({ recipe: p.recipe, tag });
      }
    }

    // 2. Never a dirty tree as a release: local edits and untracked files would ride along into the test.
    //    The operator's changes are theirs; the recipe is an error until they commit, stash or remove them.
    // One status read gives both the changes and what to put back afterwards.
    const status = await cloneStatus(cloneDir, { env: ctx.env });
    const dirty = status.changes;
    if (dirty.length > 0) {
      const shown = dirty.slice(0, 5).join(', ') + (dirty.length > 5 ? ` and ${dirty.length - 5} more` : '');
      return result('error', {
        commit, detail: `clone ${cloneDir} has local changes (${shown}): only a clean tree is tested as a release; commit, stash or remove them`,
      });
    }

    // 3. The tag, detached. What was checked out goes into the lock first, so even a kill -9 from here on
    //    leaves enough for the next sweep to put the clone back; `finally` puts it back otherwise.
    saved = status.checkout;
    lock.update({ clone: cloneDir, saved });
    await ctx.writer.act(`check out ${tag} in ${cloneDir}`, () => checkoutDetached(cloneDir, commit, { env: ctx.env }));
    log.info({ commit }, 'checked out release tag');

    // 4. The compose version label of the tag's commit (not of whatever is on disk).
    const label = versionLabelOfFiles(await filesAtCommit(cloneDir, commit, COMPOSE_FILES, { env: ctx.env }), `${tag} (${commit.slice(0, 10)})`);

    // 5. The test, only through cc-ci-run, when the disks have room for it (else not a verdict on the release).
    const low = o.diskGuard?.() ?? null;
    if (low) {
      log.error(low);
      return result('error', { commit, detail: low });
    }
    const runsDir = createRunDir(ctx.config.stateDir, p.recipe, ctx.now());
    const logFile = path.join(runsDir, 'harness.log');
    const env = harnessEnv(ctx.env, {
      recipe: p.recipe, ccciRepo: ctx.config.ccciRepo, recipesDir: ctx.config.recipesDir, tag,
      upgradeBase: o.verify ? null : o.upgradeBase !== undefined ? o.upgradeBase : upgradeBaseFor(p.record?.version ?? null, tag), runsDir,
      ...(o.verify ? { extra: { ...VERIFY_ENV } } : {}),
    });
    // A stop that arrived during the fetch or checkout: launch nothing (the clone is put back below).
    if (ctx.signal?.aborted) return result('interrupted', { commit, detail: 'sweep was stopped before the harness started' });
    log.info({ log: logFile }, 'launching harness');
    testing();
    ctx.crash?.('uncaught-while-testing');
    const startedAt = new Date();
    launched = { tag, tagCommit: commit, log: logFile, startedAt: startedAt.toISOString() };
    const h = await ctx.writer.act(`run ${o.ccciRun} ${ctx.config.harnessScript} for ${p.recipe} ${tag}`, () =>
      runHarness({
        ccciRun: o.ccciRun, script: ctx.config.harnessScript, ccciRepo: ctx.config.ccciRepo, env, logFile,
        log, signal: ctx.signal, timeoutMs: o.testTimeoutMs, stopGraceMs: o.stopGraceMs, onSpawn: tracked.spawned,
      }),
    );
    logProblem = h.logIncomplete ?? null;
    tracked.ended();
    const outcome = harnessOutcome(h, ctx.signal);
    const results = readRunResults(runsDir);
    const level = results.kind === 'read' ? results.fields.level : undefined;
    const attempt = {
      type: 'attempt' as const, recipe: p.recipe, tag, tagCommit: commit, ccciCommit: o.ccciCommit,
      ccciRun: o.ccciRun, exitCode: h.exitCode, durationMs: h.durationMs, log: logFile,
      startedAt: startedAt.toISOString(), endedAt: new Date().toISOString(), by: startedBy(ctx.env),
      ...(level !== undefined ? { level } : {}), testTimeoutMs: effectiveTimeout(o.testTimeoutMs), ...o.attemptExtra,
    };
    const more = { exitCode: h.exitCode, log: logFile, commit };
    if (o.verify) return withLogProblem(finishVerify(ctx, attempt, outcome, h, log, (r, m) => result(r, { ...more, ...m })));
    if (outcome !== 'green') {
      appendHistory(ctx.config.stateDir, { ...attempt, outcome });
      log.warn({ exitCode: h.exitCode, outcome }, 'harness did not pass');
      const why = outcome === 'timeout' && h.stoppedBy === 'timeout' ? 'test timeout reached' : `harness ${exitWords(h)}`;
      return withLogProblem(result(outcome, { ...more, detail: why }));
    }

    // 6. The gate: green, cold, no PR ref, the tree still exactly the tag, label == tag, tag is a release.
    const gate = promoteGate({
      exitCode: h.exitCode, tag, commit, releaseTags: new Set(classifyTags(p.tags.keys()).releases.map((r) => r.tag)),
      labelVersion: label.version, labelProblem: label.version === null ? label.problem : undefined,
      results, tree: await treeAfter(cloneDir, ctx.env),
    });
    if (!gate.promote) {
      appendHistory(ctx.config.stateDir, { ...attempt, outcome: 'not-promoted', detail: gate.reason });
      log.warn({ why: gate.reason }, 'green but not promoted');
      return withLogProblem(result('not-promoted', { ...more, detail: gate.reason }));
    }

    // 7. Promote: retain the warm data, then the record, atomically. Nothing is promoted after a signal.
    if (ctx.signal?.aborted) {
      appendHistory(ctx.config.stateDir, { ...attempt, outcome: 'interrupted' });
      return withLogProblem(result('interrupted', { ...more, detail: 'stopped before promotion' }));
    }
    ctx.crash?.('before-seed');
    const seed = await seedCanonical(ctx, p, o, { env, runsDir, tag, commit, log, tracked }, (why) => { logProblem ??= why.replace('harness.log', 'seed.log'); });
    ctx.crash?.('after-seed');
    if (seed !== null || ctx.signal?.aborted) {
      const why = seed ?? 'stopped during the seed script';
      appendHistory(ctx.config.stateDir, { ...attempt, outcome: seed ? 'promote-failed' : 'interrupted', detail: why });
      return withLogProblem(result(seed ? 'promote-failed' : 'interrupted', { ...more, detail: why }));
    }
    // Read again right before it is replaced: a record that became unreadable during the test (a hand edit,
    // a bad restore) is never overwritten; the StateError makes this recipe an error and leaves the file.
    const current = readCanonical(ctx.config.stateDir, p.recipe);
    const record = promotedRecord(current, { recipe: p.recipe, tag, commit, ccciCommit: o.ccciCommit, at: ctx.now() });
    await ctx.writer.act(`write canonical ${tag} for ${p.recipe}`, async () =>
      writeCanonical(ctx.config.stateDir, record, () => ctx.crash?.('during-record-write')),
    );
    ctx.crash?.('after-rename');
    try {
      appendHistory(ctx.config.stateDir, { ...attempt, outcome: 'promoted' });
      ctx.crash?.('before-history');
      appendHistory(ctx.config.stateDir, {
        type: 'promotion', recipe: p.recipe, version: tag, commit, previousVersion: current?.version ?? null,
        ccciCommit: o.ccciCommit, promotedAt: record.promotedAt, ...o.attemptExtra,
      });
    } catch (err) {
      // The record is in place, its story is not (a full disk): say both, and do not record a second attempt.
      const detail = `canonical.json now records ${tag}, but history.jsonl could not be appended: ${scrub(messageOf(err))}`;
      log.error({ err: messageOf(err) }, detail);
      return result('error', { ...more, detail });
    }
    log.info({ commit }, 'promoted');
    return withLogProblem(result('promoted', more));
  } catch (err) {
    const detail = scrub(messageOf(err));
    // A stop while the release was being fetched or checked out: nothing was tested, nothing is wrong.
    if (!launched && ctx.signal?.aborted) return withLogProblem(result('interrupted', { detail: `stopped before the harness started (${detail})` }));
    log.error({ err: detail }, 'recipe failed');
    if (launched && o.verify) {
      try {
        appendHistory(ctx.config.stateDir, verifyEntry({
          recipe: p.recipe, ...launched, exitCode: null, durationMs: Date.now() - Date.parse(launched.startedAt), endedAt: new Date().toISOString(), by: startedBy(ctx.env),
        }, false, detail));
      } catch (histErr) {
        log.error({ err: messageOf(histErr) }, 'could not record the verify in history.jsonl');
      }
    } else if (launched) {
      try {
        appendHistory(ctx.config.stateDir, {
          type: 'attempt', recipe: p.recipe, ...launched, ccciCommit: o.ccciCommit, ccciRun: o.ccciRun, outcome: 'error',
          exitCode: null, durationMs: Date.now() - Date.parse(launched.startedAt), endedAt: new Date().toISOString(),
          by: startedBy(ctx.env), detail, ...o.attemptExtra,
        });
      } catch (histErr) {
        log.error({ err: messageOf(histErr) }, 'could not record the attempt in history.jsonl');
      }
    }
    return withLogProblem(result('error', { detail, ...(launched ? { log: launched.log } : {}) }));
  } finally {
    let restored = true;
    if (saved) {
      try {
        await restoreCheckout(cloneDir, saved, { env: ctx.env });
      } catch (err) {
        restored = false;
        // The lock keeps what to put back: the next run tries again before anything else.
        restore.error = `the clone ${cloneDir} could not be put back on ${saved.branch ?? saved.commit}: ${scrub(fullMessage(err))}`;
        log.error({ err: fullMessage(err), clone: cloneDir, branch: saved.branch }, 'could not restore the clone checkout; the next run will retry');
      }
    }
    if (restored) lock.release();
  }
}

interface HarnessTracking {
  spawned: (pid: number) => void;
  ended: () => void;
}

/**
 * Records each harness this recipe launches (its pid = process group, and start time) in the recipe lock,
 * so if this sweep dies the lock stays alive while the test runs: the next sweep neither restores the clone
 * under it nor starts a second one. A lock that cannot be updated (full disk) costs that protection only.
 */
function trackHarness(lock: Lock, log: Logger): HarnessTracking {
  const update = (harness: LockInfo['harness']) => {
    try {
      lock.update({ harness });
    } catch (err) {
      log.warn({ err: messageOf(err) }, 'could not record the harness in the recipe lock');
    }
  };
  return {
    spawned: (pid) => update({ pid, pidStart: processStart(pid), startedAt: new Date().toISOString() }),
    ended: () => update(null),
  };
}

/** All of an error's message (git's reasons span several lines), as one line. */
function fullMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim()).filter(Boolean).join(' / ');
}

/** A verify's verdict: one `verify` line in history (none when stopped), never a promotion. */
function finishVerify(
  ctx: SweepContext, a: Parameters<typeof verifyEntry>[0], outcome: 'green' | Outcome, h: HarnessResult, log: Logger,
  result: (o: Outcome, more?: Partial<RunResult>) => RunResult,
): RunResult {
  if (outcome === 'interrupted') return result('interrupted', { detail: 'stopped during the verify' });
  const why = outcome === 'green' ? undefined : outcome === 'timeout' && h.stoppedBy === 'timeout' ? 'test timeout reached' : `harness ${exitWords(h)}`;
  appendHistory(ctx.config.stateDir, verifyEntry(a, outcome === 'green', why));
  if (why) log.warn({ exitCode: h.exitCode }, `verify failed: ${why}`);
  return result(outcome === 'green' ? 'verified' : 'verify-failed', why ? { detail: why } : {});
}

/** `exited 3`, or `killed by SIGKILL` when a signal ended it. */
function exitWords(h: HarnessResult): string {
  return h.exitCode !== null ? `exited ${h.exitCode}` : `killed by ${h.signal ?? 'a signal'}`;
}

function harnessOutcome(h: HarnessResult, signal: AbortSignal | undefined): 'green' | Outcome {
  if (h.stoppedBy === 'abort' || signal?.aborted) return 'interrupted';
  if (h.stoppedBy === 'timeout' || h.exitCode === HARNESS_EXIT.deadline) return 'timeout';
  if (h.exitCode === HARNESS_EXIT.sigterm) return 'interrupted';
  return h.exitCode === HARNESS_EXIT.green ? 'green' : 'red';
}

const RESULTS_MAX_BYTES = 1024 * 1024;

/** What the harness says about its own run in `<runs-dir>/results.json`; a file it cannot read fails closed. */
function readRunResults(runsDir: string): RunResults {
  const file = path.join(runsDir, 'results.json');
  let text: string;
  try {
    // A few markers fit in a few bytes; a huge file is not read into memory (and does not promote).
    const st = statSync(file);
    if (!st.isFile()) return { kind: 'unreadable', why: 'not a file' };
    if (st.size > RESULTS_MAX_BYTES) return { kind: 'unreadable', why: `larger than ${RESULTS_MAX_BYTES} bytes` };
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return parseRunResults(null);
    return { kind: 'unreadable', why: messageOf(err) };
  }
  return parseRunResults(text);
}

/** What is checked out in the clone after the test, and whether it still is a clean tree. */
async function treeAfter(cloneDir: string, env: NodeJS.ProcessEnv): Promise<TreeAfter> {
  try {
    const { checkout, changes } = await cloneStatus(cloneDir, { env });
    return { head: checkout.commit, changes };
  } catch (err) {
    return { head: null, changes: [], problem: scrub(messageOf(err)) };
  }
}

/** Runs the seed script through cc-ci-run when the cc-ci repo has one. Returns why it failed, or null. */
async function seedCanonical(
  ctx: SweepContext, p: Planned, o: RecipeRun,
  s: { env: Record<string, string>; runsDir: string; tag: string; commit: string; log: Logger; tracked: HarnessTracking },
  onLogProblem: (why: string) => void,
): Promise<string | null> {
  if (!existsSync(path.join(ctx.config.ccciRepo, ctx.config.seedScript))) return null;
  const h = await ctx.writer.act(`seed canonical ${s.tag} for ${p.recipe}`, () =>
    runHarness({
      ccciRun: o.ccciRun, script: ctx.config.seedScript, ccciRepo: ctx.config.ccciRepo,
      env: { ...s.env, CCCI_CANONICAL_VERSION: s.tag, CCCI_CANONICAL_COMMIT: s.commit },
      // The seed script is supervised like the test: same timeout, same stop grace.
      logFile: path.join(s.runsDir, 'seed.log'), log: s.log, signal: ctx.signal, timeoutMs: o.testTimeoutMs, stopGraceMs: o.stopGraceMs,
      onSpawn: s.tracked.spawned,
    }),
  );
  s.tracked.ended();
  if (h.logIncomplete) onLogProblem(h.logIncomplete);
  if (h.stoppedBy === 'abort') return null; // the caller sees the signal: interrupted, not promote-failed
  if (h.stoppedBy === 'timeout') return `seed script ${ctx.config.seedScript} stopped: test timeout reached`;
  return h.exitCode === 0 && h.stoppedBy === null ? null : `seed script ${ctx.config.seedScript} ${exitWords(h)}`;
}
