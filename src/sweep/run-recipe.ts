// One recipe's test: fetch -> check out the tag -> cc-ci-run -> gate -> promote -> restore the checkout.
// Every failure becomes the recipe's outcome, so one recipe never stops the others.
import { existsSync } from 'node:fs';
import { NotRegularFileError, readRegularText } from '../adapters/fs/read-file.js';
import path from 'node:path';
import { effectiveTimeout } from '../core/attempts.js';
import { appendHistory, createRunDir, readCanonical, recipeStateDir, writeCanonical } from '../adapters/fs/state-store.js';
import { promotedRecord } from '../core/canonical-record.js';
import { COMPOSE_FILES, type LabelResult, versionLabelOfFiles } from '../core/compose.js';
import { urlFor } from '../core/config.js';
import { upgradeBaseFor } from '../core/decision.js';
import { GitError, HarnessError, messageOf } from '../core/errors.js';
import {
  type Checkout, checkoutDetached, cloneStatus, fetchRelease, NotACommitError, type PrefetchedReleases, type Release, restoreCheckout,
} from '../adapters/git.js';
import { harnessEnv, type HarnessResult, runHarness } from '../adapters/harness.js';
import { type Logger, scrub } from '../adapters/log.js';
import { type Lock, type LockInfo, processStart, recipeBusy, recipeLockPath, tryLock } from '../adapters/fs/lock.js';
import { parseRunResults, promoteGate, type RunResults, type TreeAfter } from '../core/promote-gate.js';
import { classifyTags } from '../core/version.js';
import { VERIFY_ENV } from '../core/verify.js';
import {
  type AttemptFacts, failureDetail, harnessOutcome, historyRecords, notRun, seedProblem, type TestEnd, testOutcome,
} from '../core/outcome.js';
import { startedBy, type SweepContext } from './context.js';
import type { Outcome, Planned, RunResult } from '../core/sweep-types.js';
import type { RecipeRun } from './executor.js';
import { decideFor } from './plan.js';
import { restoreAfterCrash } from './recover.js';

/**
 * One recipe's checkout+test+promote. A clone that cannot be put back afterwards is not success, whatever
 * the test said: the result says so (`restoreError`, git's full reason) and the run exits 1.
 * `harnessDone` is called once this recipe will launch no more cc-ci-run (after the test, or after the seed
 * script when one may run): the sweep's next test may start then, while this one's gate, promotion and
 * restore finish on another clone.
 */
export async function runRecipe(
  ctx: SweepContext, p: Planned, o: RecipeRun, testing: () => void, harnessDone: () => void = () => {},
): Promise<RunResult> {
  const restore: { error?: string } = {};
  const r = await testRecipe(ctx, p, o, testing, harnessDone, restore);
  return restore.error === undefined ? r : { ...r, restoreError: restore.error };
}

/** This recipe's run so far: what every step reads and adds to. */
interface RecipeState {
  ctx: SweepContext;
  p: Planned;
  o: RecipeRun;
  cloneDir: string;
  tag: string;
  log: Logger;
  startedMs: number;
  /** Why the harness's or seed script's log misses output, if it does: said in the result whatever the outcome. */
  logProblem: string | null;
  /** Whether a green, gated run launches the seed script through cc-ci-run after the test. */
  seeds: boolean;
  /** This recipe launches no more cc-ci-run (see runRecipe). */
  harnessDone: () => void;
}

function resultOf(s: RecipeState, outcome: Outcome, more: Partial<RunResult> = {}): RunResult {
  return {
    recipe: s.p.recipe, decision: s.p.decision, reason: s.p.reason, tag: s.tag, outcome, exitCode: null,
    durationMs: s.ctx.now().getTime() - s.startedMs, log: null, ...more,
  };
}

function withLogProblem(s: RecipeState, r: RunResult): RunResult {
  return s.logProblem ? { ...r, logIncomplete: true, detail: r.detail ? `${r.detail}; ${s.logProblem}` : s.logProblem } : r;
}

async function testRecipe(
  ctx: SweepContext, p: Planned, o: RecipeRun, testing: () => void, harnessDone: () => void, restore: { error?: string },
): Promise<RunResult> {
  const s: RecipeState = {
    ctx, p, o, cloneDir: path.join(ctx.config.recipesDir, p.recipe), tag: p.latest!,
    log: ctx.log.child({ recipe: p.recipe, tag: p.latest! }), startedMs: ctx.now().getTime(), logProblem: null,
    // Decided once, before the test: the slot is given up early only when no seed script can follow.
    seeds: !o.verify && existsSync(path.join(ctx.config.ccciRepo, ctx.config.seedScript)), harnessDone,
  };
  if (ctx.signal?.aborted) return resultOf(s, 'interrupted', { detail: 'sweep was stopped before this recipe started' });
  const lock = await takeRecipeLock(s);
  if ('outcome' in lock) return lock;
  const tracked = trackHarness(lock, ctx.now);
  let saved: Checkout | null = null;
  // Set once a harness launch is attempted: even a launch that fails is an attempt worth remembering.
  let launched: { tag: string; tagCommit: string; log: string; startedAt: string } | null = null;
  try {
    // One status read gives both the changes and what to put back afterwards. It runs beside the release's
    // lookups when the clone exists (a fetch touches neither HEAD, the index nor the work tree); its
    // answer, or its error, counts only once the release is known.
    const early = existsSync(path.join(s.cloneDir, '.git')) ? cloneStatus(s.cloneDir, { env: ctx.env }) : null;
    early?.catch(() => {});
    let release = await fetchTag(s, o.prefetched);
    if ('outcome' in release) return release;
    const status = await (early ?? cloneStatus(s.cloneDir, { env: ctx.env }));
    const dirty = refuseDirtyTree(s, release.commit, status.changes);
    if (dirty) return dirty;
    saved = status.checkout;
    try {
      await checkOutTag(s, tracked, release.commit, saved);
    } catch (err) {
      // The run's prefetch took the clone's tag as proof that the clone holds the release. A damaged store
      // (objects gone that a ref still names) fails the checkout: ask the clone itself, which fetches what
      // it lacks, and try once more.
      if (!release.fromPrefetch || !(err instanceof GitError) || ctx.signal?.aborted) throw err;
      s.log.warn({ err: messageOf(err) }, 'the checkout failed: asking the clone itself for the release and trying once more');
      release = await fetchTag(s, null);
      if ('outcome' in release) return release;
      await checkOutTag(s, tracked, release.commit, saved);
    }
    const { commit } = release;
    // The compose version label of the tag's commit (not of whatever is on disk), read with the fetch's own lookups.
    const label = versionLabelOfFiles(release.files, `${s.tag} (${commit.slice(0, 10)})`);
    const prepared = prepareTest(s, commit);
    if ('outcome' in prepared) return prepared;
    s.log.info({ log: prepared.logFile }, 'launching harness');
    testing();
    ctx.crash?.('uncaught-while-testing');
    tracked.beforeLaunch();
    const startedAt = ctx.now();
    launched = { tag: s.tag, tagCommit: commit, log: prepared.logFile, startedAt: startedAt.toISOString() };
    const h = await launchTest(s, prepared, tracked);
    if (!s.seeds) harnessDone();
    const results = readRunResults(prepared.runsDir);
    const level = results.kind === 'read' ? results.fields.level : undefined;
    const facts: AttemptFacts = {
      type: 'attempt', recipe: p.recipe, tag: s.tag, tagCommit: commit, ccciCommit: o.ccciCommit,
      ccciRun: o.ccciRun, exitCode: h.exitCode, durationMs: h.durationMs, log: prepared.logFile,
      startedAt: startedAt.toISOString(), endedAt: ctx.now().toISOString(), by: startedBy(ctx.env),
      ...(level !== undefined ? { level } : {}), testTimeoutMs: effectiveTimeout(o.testTimeoutMs), ...o.attemptExtra,
    };
    const end = o.verify
      ? verifyEnd(h, ctx.signal?.aborted === true)
      : await judgeAndPromote(s, { h, commit, label, results, prepared, tracked });
    return finish(s, end, facts, { exitCode: h.exitCode, log: prepared.logFile, commit });
  } catch (err) {
    const detail = scrub(messageOf(err));
    // A stop while the release was being fetched or checked out: nothing was tested, nothing is wrong.
    if (!launched && ctx.signal?.aborted) return withLogProblem(s, resultOf(s, 'interrupted', { detail: `stopped before the harness started (${detail})` }));
    s.log.error({ err: detail }, 'recipe failed');
    if (!launched) return withLogProblem(s, resultOf(s, 'error', { detail }));
    const now = ctx.now();
    const facts: AttemptFacts = {
      type: 'attempt', recipe: p.recipe, ...launched, ccciCommit: o.ccciCommit, ccciRun: o.ccciRun,
      exitCode: null, durationMs: now.getTime() - Date.parse(launched.startedAt), endedAt: now.toISOString(), by: startedBy(ctx.env), ...o.attemptExtra,
    };
    return finish(s, o.verify ? { kind: 'verify-error', detail } : { kind: 'error', detail }, facts, { log: launched.log });
  } finally {
    harnessDone();
    let restored = true;
    if (saved) {
      try {
        await restoreCheckout(s.cloneDir, saved, { env: ctx.env });
      } catch (err) {
        restored = false;
        // The lock keeps what to put back: the next run tries again before anything else.
        restore.error = `the clone ${s.cloneDir} could not be put back on ${saved.branch ?? saved.commit}: ${scrub(fullMessage(err))}`;
        s.log.error({ err: fullMessage(err), clone: s.cloneDir, branch: saved.branch }, 'could not restore the clone checkout; the next run will retry');
      }
    }
    if (restored) lock.release();
  }
}

/** One checkout+test+promote per recipe at a time, whoever started it (timer or operator). */
async function takeRecipeLock(s: RecipeState): Promise<Lock | RunResult> {
  const { ctx, p, log } = s;
  let lock: Awaited<ReturnType<typeof tryLock>>;
  try {
    lock = await tryLock(recipeLockPath(recipeStateDir(ctx.config.stateDir, p.recipe)), {
      log, command: ctx.command ?? 'ccci-sweep', by: startedBy(ctx.env), now: ctx.now, onStale: (stale) => restoreAfterCrash(stale, log, ctx.env),
    });
  } catch (err) {
    return resultOf(s, 'error', { detail: `cannot take the recipe lock or restore the clone a crashed sweep left: ${scrub(messageOf(err))}` });
  }
  return 'release' in lock ? lock : resultOf(s, 'error', { detail: recipeBusy(p.recipe, lock) });
}

/**
 * Upstream's branch and the tag into the clone, from the explicit URL; the tag's commit and its compose
 * files. ls-remote cannot
 * tell a tree from a commit; the fetched tag can. Such a tag is not a release: decide again without it
 * (the next plan knows it from the clone), which may mean nothing runs.
 */
async function fetchTag(s: RecipeState, prefetched: PrefetchedReleases | null | undefined): Promise<Release | RunResult> {
  const { ctx, p, o, cloneDir } = s;
  const upstream = urlFor(ctx.config.upstreamUrl, p.recipe);
  for (;;) {
    try {
      return await ctx.writer.act(`fetch ${upstream} into ${cloneDir}`, () =>
        fetchRelease(cloneDir, upstream, s.tag, p.tags.get(s.tag)!, {
          log: s.log, env: ctx.env, signal: ctx.signal, defaultBranch: p.defaultBranch, files: COMPOSE_FILES, prefetched,
        }));
    } catch (err) {
      if (!(err instanceof NotACommitError)) throw err;
      s.log.warn(messageOf(err));
      p.tags.delete(s.tag);
      p.notCommits.push(s.tag);
      const d = decideFor(
        p.tags, p.record, p.history, o, { ccciCommit: o.ccciCommit, ccciRun: o.ccciRun, testTimeoutMs: effectiveTimeout(o.testTimeoutMs) }, p.controls?.decision,
      );
      Object.assign(p, d, { ignoredTags: [...d.ignoredTags, ...p.notCommits] });
      if (d.decision !== 'run' || !d.latest) return { ...notRun(p), durationMs: ctx.now().getTime() - s.startedMs };
      s.tag = d.latest;
      s.log = ctx.log.child({ recipe: p.recipe, tag: s.tag });
    }
  }
}

/**
 * Never a dirty tree as a release: local edits and untracked files would ride along into the test. The
 * operator's changes are theirs; the recipe is an error until they commit, stash or remove them.
 */
function refuseDirtyTree(s: RecipeState, commit: string, dirty: string[]): RunResult | null {
  if (dirty.length === 0) return null;
  const shown = dirty.slice(0, 5).join(', ') + (dirty.length > 5 ? ` and ${dirty.length - 5} more` : '');
  return resultOf(s, 'error', {
    commit, detail: `clone ${s.cloneDir} has local changes (${shown}): only a clean tree is tested as a release; commit, stash or remove them`,
  });
}

/**
 * The tag, detached. What was checked out goes into the lock first, so even a kill -9 from here on leaves
 * enough for the next sweep to put the clone back; testRecipe's `finally` puts it back otherwise.
 */
async function checkOutTag(s: RecipeState, tracked: HarnessTracking, commit: string, saved: Checkout): Promise<void> {
  tracked.checkout({ clone: s.cloneDir, saved });
  await s.ctx.writer.act(`check out ${s.tag} in ${s.cloneDir}`, () => checkoutDetached(s.cloneDir, commit, { env: s.ctx.env }));
  s.log.info({ commit }, 'checked out release tag');
}

interface PreparedTest {
  runsDir: string;
  logFile: string;
  env: Record<string, string>;
}

/** The run folder and the harness's environment, when the disks have room and no stop arrived. */
function prepareTest(s: RecipeState, commit: string): PreparedTest | RunResult {
  const { ctx, p, o } = s;
  // When the disks are too full, no test starts: not a verdict on the release.
  const low = o.diskGuard?.() ?? null;
  if (low) {
    s.log.error(low);
    return resultOf(s, 'error', { commit, detail: low });
  }
  const runsDir = createRunDir(ctx.config.stateDir, p.recipe, ctx.now());
  const env = harnessEnv(ctx.env, {
    recipe: p.recipe, ccciRepo: ctx.config.ccciRepo, recipesDir: ctx.config.recipesDir, tag: s.tag,
    upgradeBase: o.verify ? null : o.upgradeBase !== undefined ? o.upgradeBase : upgradeBaseFor(p.record?.version ?? null, s.tag), runsDir,
    ...(o.verify ? { extra: { ...VERIFY_ENV } } : {}),
  });
  // A stop that arrived during the fetch or checkout: launch nothing (the clone is put back afterwards).
  if (ctx.signal?.aborted) return resultOf(s, 'interrupted', { commit, detail: 'sweep was stopped before the harness started' });
  return { runsDir, logFile: path.join(runsDir, 'harness.log'), env };
}

/** The test, only through cc-ci-run. */
async function launchTest(s: RecipeState, t: PreparedTest, tracked: HarnessTracking): Promise<HarnessResult> {
  const { ctx, p, o } = s;
  const h = await ctx.writer.act(`run ${o.ccciRun} ${ctx.config.harnessScript} for ${p.recipe} ${s.tag}`, () =>
    runHarness({
      ccciRun: o.ccciRun, script: ctx.config.harnessScript, ccciRepo: ctx.config.ccciRepo, env: t.env, logFile: t.logFile,
      log: s.log, now: ctx.now, signal: ctx.signal, timeoutMs: o.testTimeoutMs, stopGraceMs: o.stopGraceMs, onSpawn: tracked.spawned,
    }),
  );
  s.logProblem = h.logIncomplete ?? null;
  tracked.ended();
  return h;
}

/** A verify's verdict: never a promotion. */
function verifyEnd(h: HarnessResult, stopped: boolean): TestEnd {
  const outcome = harnessOutcome(h, stopped);
  if (outcome === 'interrupted') return { kind: 'verify-stopped' };
  return outcome === 'green' ? { kind: 'verified' } : { kind: 'verify-failed', detail: failureDetail(outcome, h) };
}

/**
 * A green run goes through the gate (green, cold, no PR ref, the tree still exactly the tag, label == tag,
 * tag is a release); then the warm data is retained (seed script) and the record written, atomically.
 * Nothing is promoted after a signal.
 */
async function judgeAndPromote(
  s: RecipeState,
  t: { h: HarnessResult; commit: string; label: LabelResult; results: RunResults; prepared: PreparedTest; tracked: HarnessTracking },
): Promise<TestEnd> {
  const { ctx, p, o } = s;
  const outcome = harnessOutcome(t.h, ctx.signal?.aborted === true);
  if (outcome !== 'green') return { kind: 'failed', outcome, detail: failureDetail(outcome, t.h) };
  const gate = promoteGate({
    exitCode: t.h.exitCode, tag: s.tag, commit: t.commit, releaseTags: new Set(classifyTags(p.tags.keys()).releases.map((r) => r.tag)),
    labelVersion: t.label.version, labelProblem: t.label.version === null ? t.label.problem : undefined,
    results: t.results, tree: await treeAfter(s.cloneDir, ctx.env),
  });
  if (!gate.promote) return { kind: 'not-promoted', detail: gate.reason };
  if (ctx.signal?.aborted) return { kind: 'stopped', detail: 'stopped before promotion', recorded: null };
  ctx.crash?.('before-seed');
  const seed = await seedCanonical(ctx, p, o, { env: t.prepared.env, runsDir: t.prepared.runsDir, tag: s.tag, commit: t.commit, log: s.log, tracked: t.tracked, seeds: s.seeds }, (why) => {
    s.logProblem ??= why.replace('harness.log', 'seed.log');
  });
  s.harnessDone();
  ctx.crash?.('after-seed');
  if (seed !== null) return { kind: 'seed-failed', detail: seed };
  if (ctx.signal?.aborted) return { kind: 'stopped', detail: 'stopped during the seed script', recorded: 'stopped during the seed script' };
  // Read again right before it is replaced: a record that became unreadable during the test (a hand edit,
  // a bad restore) is never overwritten; the StateError makes this recipe an error and leaves the file.
  const current = readCanonical(ctx.config.stateDir, p.recipe);
  const record = promotedRecord(current, { recipe: p.recipe, tag: s.tag, commit: t.commit, ccciCommit: o.ccciCommit, at: ctx.now() });
  await ctx.writer.act(`write canonical ${s.tag} for ${p.recipe}`, async () =>
    writeCanonical(ctx.config.stateDir, record, () => ctx.crash?.('during-record-write')),
  );
  ctx.crash?.('after-rename');
  return { kind: 'promoted', previousVersion: current?.version ?? null, promotedAt: record.promotedAt, extra: o.attemptExtra };
}

/**
 * The ONE place a recipe's run is written into history.jsonl, and its result. The lines come from
 * src/core/outcome.ts. A line that cannot be appended (a full disk): after a promotion the record is in
 * place and its story is not, which the result says; after an error it is logged; otherwise the recipe
 * becomes an error like any other failure after the launch.
 */
function finish(s: RecipeState, end: TestEnd, facts: AttemptFacts, more: Partial<RunResult>): RunResult {
  const { ctx, log } = s;
  const outcome = testOutcome(end);
  try {
    // The attempt and its promotion as one write (one fsync): the story is told whole or not at all.
    const entries = historyRecords(end, facts);
    if (entries.some((e) => e.type === 'promotion')) ctx.crash?.('before-history');
    appendHistory(ctx.config.stateDir, ...entries);
  } catch (err) {
    if (end.kind === 'promoted') {
      const detail = `canonical.json now records ${s.tag}, but history.jsonl could not be appended: ${scrub(messageOf(err))}`;
      log.error({ err: messageOf(err) }, detail);
      return resultOf(s, 'error', { ...more, detail });
    }
    if (end.kind !== 'error' && end.kind !== 'verify-error') throw err;
    log.error({ err: messageOf(err) }, `could not record the ${end.kind === 'error' ? 'attempt' : 'verify'} in history.jsonl`);
  }
  if (end.kind === 'promoted') log.info({ commit: facts.tagCommit }, 'promoted');
  else if (end.kind === 'failed') log.warn({ exitCode: facts.exitCode, outcome }, 'harness did not pass');
  else if (end.kind === 'not-promoted') log.warn({ why: end.detail }, 'green but not promoted');
  else if (end.kind === 'verify-failed') log.warn({ exitCode: facts.exitCode }, `verify failed: ${end.detail}`);
  const detail = end.kind === 'stopped' ? end.detail : end.kind === 'verify-stopped' ? 'stopped during the verify' : 'detail' in end ? end.detail : undefined;
  return withLogProblem(s, resultOf(s, outcome, { ...more, ...(detail !== undefined ? { detail } : {}) }));
}

interface HarnessTracking {
  /** Records the checkout to restore (durably: a power cut must not lose it), with no harness yet. */
  checkout: (saved: { clone: string; saved: Checkout }) => void;
  /** Throws (HarnessError) when the lock cannot be written now: then nothing is launched. */
  beforeLaunch: () => void;
  spawned: (pid: number) => void;
  ended: () => void;
}

/**
 * Records each harness this recipe launches (its pid = process group, and start time) in the recipe lock,
 * so if this sweep dies the lock stays alive while the test runs: the next sweep neither restores the clone
 * under it nor starts a second one. Fail-safe: a harness that cannot be recorded (a full disk) is not
 * launched (the lock is rewritten first to prove it can be; the checkout's write right before the test
 * counts), and one whose record fails right after its spawn is stopped at once by runHarness; the recipe is
 * then `error`, never a verdict on the release.
 */
function trackHarness(lock: Lock, now: () => Date): HarnessTracking {
  // The last lock write was the checkout's, it succeeded, and it says "no harness": that write is the proof
  // beforeLaunch() needs, one write fewer per launch. Any later write (or failure) ends it.
  let proven = false;
  const record = (harness: LockInfo['harness']) => {
    proven = false;
    try {
      lock.note({ harness });
    } catch (err) {
      throw new HarnessError(`cannot record the harness in the recipe lock (${messageOf(err)}); not launched: if this sweep died, nothing would protect its test`);
    }
  };
  return {
    checkout: (saved) => {
      proven = false;
      lock.update({ ...saved, harness: null });
      proven = true;
    },
    beforeLaunch: () => {
      if (proven) proven = false;
      else record(null);
    },
    spawned: (pid) => record({ pid, pidStart: processStart(pid), startedAt: now().toISOString() }),
    ended: () => {
      // Not written: a lock naming a harness whose group is gone is stale (harnessAlive() checks the group
      // and the leader's start time), and the lock is released or rewritten next anyway (the seed script's
      // launch proves it can be written, with no harness in it). One lock write fewer per launch.
      proven = false;
    },
  };
}

/** All of an error's message (git's reasons span several lines), as one line. */
function fullMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim()).filter(Boolean).join(' / ');
}

const RESULTS_MAX_BYTES = 1024 * 1024;

/** What the harness says about its own run in `<runs-dir>/results.json`; a file it cannot read fails closed. */
function readRunResults(runsDir: string): RunResults {
  const file = path.join(runsDir, 'results.json');
  let text: string;
  try {
    // A few markers fit in a few bytes; a huge file is not read into memory (and does not promote).
    text = readRegularText(file, { maxBytes: RESULTS_MAX_BYTES });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return parseRunResults(null);
    if ((err as NodeJS.ErrnoException).code === 'EFBIG') return { kind: 'unreadable', why: `larger than ${RESULTS_MAX_BYTES} bytes` };
    if (err instanceof NotRegularFileError) return { kind: 'unreadable', why: 'not a file' };
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
  s: { env: Record<string, string>; runsDir: string; tag: string; commit: string; log: Logger; tracked: HarnessTracking; seeds: boolean },
  onLogProblem: (why: string) => void,
): Promise<string | null> {
  if (!s.seeds) return null;
  s.tracked.beforeLaunch();
  const h = await ctx.writer.act(`seed canonical ${s.tag} for ${p.recipe}`, () =>
    runHarness({
      ccciRun: o.ccciRun, script: ctx.config.seedScript, ccciRepo: ctx.config.ccciRepo,
      env: { ...s.env, CCCI_CANONICAL_VERSION: s.tag, CCCI_CANONICAL_COMMIT: s.commit },
      // The seed script is supervised like the test: same timeout, same stop grace.
      logFile: path.join(s.runsDir, 'seed.log'), log: s.log, now: ctx.now, signal: ctx.signal, timeoutMs: o.testTimeoutMs, stopGraceMs: o.stopGraceMs,
      onSpawn: s.tracked.spawned,
    }),
  );
  s.tracked.ended();
  if (h.logIncomplete) onLogProblem(h.logIncomplete);
  // Stopped by the sweep: null, as the caller sees the signal (interrupted, not promote-failed).
  return seedProblem(h, ctx.config.seedScript);
}
