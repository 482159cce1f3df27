// The sweep driver. Follow one recipe through it top to bottom:
//   planRecipe: canonical + upstream tags -> decision            (reads only; this is all `plan` does)
//   runRecipe:  fetch -> check out the tag -> cc-ci-run -> gate -> promote -> restore the checkout
// Decisions, ordering and the gate are pure modules; this file wires them to git, the harness and the
// registry file, and turns every failure into a per-recipe outcome so one recipe never stops the others.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import PQueue from 'p-queue';
import { effectiveTimeout, knownRed, medianDurationMs } from './attempts.js';
import {
  appendHistory, createRunDir, promotedRecord, readCanonical, readHistory, recipeStateDir, writeCanonical,
  type CanonicalRecord, type HistoryEntry,
} from './canonical.js';
import { COMPOSE_FILES, versionLabelOfFiles } from './compose.js';
import { urlFor, type Config } from './config.js';
import { decide, requestedTagProblem, upgradeBaseFor, type Decision, type DecisionInput, type Reason } from './decision.js';
import { decisionControls, type OperatorControls } from './sweep/controls.js';
import { recordSeenTags } from './adapters/fs/holds-store.js';
import { VERIFY_ENV, verifyEntry } from './core/verify.js';
import { isDryRun } from './adapters/effects.js';
import type { HoldInfo, TagHold } from './core/holds.js';
import type { Writer } from './dry-run.js';
import type { Cadence, Enrolment } from './enrolment.js';
import { messageOf, UsageError } from './errors.js';
import {
  checkoutDetached, currentCheckout, fetchRelease, filesAtCommit, headCommit, localTags, lsRemote, NotACommitError, objectTypes,
  restoreCheckout, tagTargets, worktreeChanges,
  type Checkout,
} from './git.js';
import { HARNESS_EXIT, harnessEnv, resolveExecutable, runHarness, type HarnessResult } from './harness.js';
import { scrub, type Logger } from './log.js';
import type { SweepEvent, SweepListener } from './events.js';
import type { CrashHook } from './sweep/faults.js';
import { orphanedHarness, processStart, recipeBusy, recipeLockPath, tryLock, type Lock, type LockInfo } from './lock.js';
import {
  giteaApiFor, mirrorState, readTokenFile, syncMirror, type MirrorState, type RemoteRefs, type SyncResult,
} from './mirror/index.js';
import { parseRunResults, promoteGate, type RunResults, type TreeAfter } from './promote-gate.js';
import { classifyTags } from './version.js';
import type { Executor } from './sweep/executor.js';

export interface SweepContext {
  config: Config;
  log: Logger;
  writer: Writer;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  /** Aborted on SIGTERM/SIGINT: running harnesses are stopped and nothing more is promoted. */
  signal?: AbortSignal;
  /** Mirror settings; null when mirror-sync is not configured. */
  mirror?: MirrorSetup | null;
  /** Told of every recipe state change (progress display). */
  onEvent?: SweepListener;
  /** Test-only crash points (src/sweep/faults.ts); never set by the shipped CLI. */
  crash?: CrashHook;
}

// ---------------------------------------------------------------------------------------------------------
// plan: read-only

export interface PlanEntry {
  recipe: string;
  cadence: Cadence;
  canonical: { version: string; commit: string } | null;
  latest: string | null;
  decision: Decision;
  reason: Reason;
  ignoredTags: string[];
  /** Why the decision is `error`, in one line. */
  error?: string;
  /** How the recipe's mirror relates to upstream (two ls-remote calls, no writes). */
  mirror?: { state: MirrorState; detail: string };
  /** Worth a look but not an error, e.g. the canonical version is no longer a tag upstream. */
  warnings?: string[];
  /** The recipe's hold in force (`ccci-sweep hold`); absent when none. */
  hold?: HoldInfo;
  /** Its held releases in force; absent when none. */
  heldTags?: TagHold[];
  /** A newer release that is no candidate yet only because it is younger than --min-release-age. */
  pending?: { tag: string; eligibleAt: string };
}

/** A plan entry plus what `run` needs to act on it without asking the remote again. */
export interface Planned extends PlanEntry {
  record: CanonicalRecord | null;
  /** Upstream's tags: tag -> commit (peeled through every tag object). */
  tags: Map<string, string>;
  /** Tags that point to a tree or blob, not a commit: never releases (also in ignoredTags). */
  notCommits: string[];
  history: HistoryEntry[];
  /** Holds, release ages and a requested tag, as the decision took them (decided again with the same). */
  controls?: OperatorControls;
}

export interface PlanOptions {
  offline?: boolean;
  force?: boolean;
  /** Parallel read-only remote queries; the sweep's wall time is network round trips. */
  remoteJobs?: number;
  /** Also report each mirror's state (plan only; run syncs instead). */
  mirrorState?: boolean;
  /** Run a newest release that already went red under unchanged conditions. */
  retry?: boolean;
  /** The test timeout runs get (default 90 min; 0: none); a `timeout` attempt is known-red only under it. */
  testTimeoutMs?: number;
  /** A release is a candidate only once known this long (ms; 0 or absent: at once). */
  minReleaseAgeMs?: number;
  /** run only: record when each upstream tag was first seen (plan reads that record, never writes it). */
  recordSeenTags?: boolean;
  /** `run --tag`: test this release of the (one) selected recipe instead of the newest. */
  requestedTag?: string;
}

export async function plan(ctx: SweepContext, enrolment: Enrolment, opts: PlanOptions = {}): Promise<PlanEntry[]> {
  return (await planAll(ctx, enrolment, opts, await sweepConditions(ctx, opts.testTimeoutMs))).map(publicEntry);
}

function publicEntry({ record: _r, tags: _t, history: _h, notCommits: _n, controls: _c, ...entry }: Planned): PlanEntry {
  return entry;
}

async function planAll(ctx: SweepContext, enrolment: Enrolment, opts: PlanOptions, conditions: SweepConditions): Promise<Planned[]> {
  const queue = new PQueue({ concurrency: opts.remoteJobs ?? 16 });
  const planned = await Promise.all(
    enrolment.recipes.map((r) => queue.add(() => planRecipe(ctx, r.recipe, r.cadence, opts, conditions))),
  );
  const problems: Planned[] = enrolment.problems.map((p) => ({
    recipe: p.recipe, cadence: p.cadence, canonical: null, latest: null, decision: 'error', reason: 'enrolment-invalid',
    ignoredTags: [], error: p.problem, record: null, tags: new Map(), notCommits: [], history: [],
  }));
  return [...planned, ...problems].sort((a, b) => (a.recipe < b.recipe ? -1 : 1));
}

function decideFor(
  tags: Map<string, string>, record: CanonicalRecord | null, history: HistoryEntry[], opts: PlanOptions, conditions: SweepConditions,
  controls: Partial<DecisionInput> = {},
) {
  return decide({
    tags: tags.keys(), canonicalVersion: record?.version ?? null, force: opts.force, retry: opts.retry,
    isKnownRed: (tag) => knownRed(history, { tag, tagCommit: tags.get(tag), ...conditions }) !== null,
    ...controls,
  });
}

/** One recipe's full plan (tags, record, history), for `explain`. */
export async function planOne(
  ctx: SweepContext, recipe: string, cadence: Cadence, opts: PlanOptions, conditions: SweepConditions,
): Promise<Planned> {
  return planRecipe(ctx, recipe, cadence, opts, conditions);
}

/** What every test of this sweep would run with: the cc-ci repo's commit and the cc-ci-run executable. */
export interface SweepConditions {
  ccciCommit: string | null;
  /** Absolute path when it resolves; as configured otherwise (plan does not need it to exist). */
  ccciRun: string;
  /** The test timeout this sweep's harnesses get (ms; null: none): a timeout is known-red only under it. */
  testTimeoutMs: number | null;
}

/** `testTimeoutMs`: what the harness would run under (0 or undefined: none, as runHarness reads it). */
export async function sweepConditions(ctx: SweepContext, testTimeoutMs: number | undefined): Promise<SweepConditions> {
  let ccciRun = ctx.config.ccciRun;
  try {
    ccciRun = resolveExecutable(ctx.config.ccciRun, ctx.env);
  } catch {
    // run refuses a missing cc-ci-run before testing anything; plan just shows the decision
  }
  return { ccciCommit: await headCommit(ctx.config.ccciRepo, { env: ctx.env }), ccciRun, testTimeoutMs: effectiveTimeout(testTimeoutMs) };
}

async function planRecipe(
  ctx: SweepContext, recipe: string, cadence: Cadence, opts: PlanOptions, conditions: SweepConditions,
): Promise<Planned> {
  const base = {
    recipe, cadence, canonical: null, latest: null, ignoredTags: [], record: null, tags: new Map<string, string>(), notCommits: [], history: [],
  };
  let record: CanonicalRecord | null;
  try {
    record = readCanonical(ctx.config.stateDir, recipe);
  } catch (err) {
    return { ...base, decision: 'error', reason: 'canonical-unreadable', error: messageOf(err) };
  }
  const canonical = record ? { version: record.version, commit: record.commit } : null;
  const { entries: history, warning } = readHistory(ctx.config.stateDir, recipe);
  if (warning) ctx.log.warn({ recipe }, warning);
  // With a mirror to check, one upstream listing serves both the tags and the mirror comparison, and the
  // mirror is listed at the same time: two connections in parallel, not three in a row.
  const upstreamUrl = urlFor(ctx.config.upstreamUrl, recipe);
  const cloneDir = path.join(ctx.config.recipesDir, recipe);
  const remote = { env: ctx.env, signal: ctx.signal, log: ctx.log };
  const listing = opts.mirrorState && ctx.mirror && !opts.offline ? lsRemote(upstreamUrl, { ...remote, symref: true }) : null;
  const mirror = opts.mirrorState ? mirrorStateOf(ctx, recipe, listing ?? undefined) : null;
  let tags: Map<string, string>;
  let notCommits: string[] = [];
  try {
    if (opts.offline) {
      ({ tags, notCommits } = await localTags(cloneDir, { env: ctx.env }));
    } else {
      tags = tagTargets(listing ? await listing : await lsRemote(upstreamUrl, { ...remote, tagsOnly: true }));
      // A tag that points to a tree or blob is not a release. ls-remote cannot say what an object is; the
      // clone can for every object it already holds (after a mirror-sync: all of them). The others are
      // checked when the run fetches the tag.
      const types = await objectTypes(cloneDir, [...new Set(tags.values())], { env: ctx.env });
      for (const [tag, id] of tags) {
        const type = types.get(id);
        if (type !== undefined && type !== 'commit') {
          tags.delete(tag);
          notCommits.push(tag);
        }
      }
    }
  } catch (err) {
    await mirror?.catch(() => undefined);
    return { ...base, canonical, record, history, decision: 'error', reason: 'tags-unavailable', error: messageOf(err) };
  }
  notCommits.sort();
  let controls: OperatorControls;
  try {
    controls = decisionControls(ctx, recipe, tags, opts);
  } catch (err) {
    await mirror?.catch(() => undefined);
    return { ...base, canonical, record, history, decision: 'error', reason: 'holds-unreadable', error: messageOf(err) };
  }
  const d = decideFor(tags, record, history, opts, conditions, controls.decision);
  const entry: Planned = {
    ...base, canonical, record, tags, notCommits, history, ...d, ignoredTags: [...d.ignoredTags, ...notCommits], controls, ...controls.shown,
  };
  if (d.decision === 'error') entry.error = `canonical version ${record?.version} is not a release tag`;
  if (record && !tags.has(record.version)) {
    const where = opts.offline ? 'the clone' : 'upstream';
    const warning = notCommits.includes(record.version)
      ? `canonical version ${record.version} is no longer a commit tag ${where}`
      : `canonical version ${record.version} is no longer a tag ${where}`;
    entry.warnings = [warning];
    ctx.log.warn({ recipe }, warning);
  }
  if (mirror) entry.mirror = await mirror;
  ctx.log.debug({ recipe, decision: d.decision, reason: d.reason, latest: d.latest }, 'decided');
  return entry;
}

// ---------------------------------------------------------------------------------------------------------
// mirror-sync: the recipe's mirror becomes a faithful copy of upstream before anything is decided

interface MirrorSetup {
  mirrorUrl: string;
  giteaApi: string;
  token: string | undefined;
}

/** The mirror settings, or null when no mirror URL is configured (mirror-sync is then skipped). */
export function mirrorSetup(config: Config): MirrorSetup | null {
  if (!config.mirrorUrl) return null;
  return {
    mirrorUrl: config.mirrorUrl,
    giteaApi: config.giteaApi ?? giteaApiFor(urlFor(config.mirrorUrl, 'recipe')),
    token: config.mirrorTokenFile ? readTokenFile(config.mirrorTokenFile) : undefined,
  };
}

async function mirrorStateOf(
  ctx: SweepContext, recipe: string, upstream?: Promise<RemoteRefs>,
): Promise<{ state: MirrorState; detail: string }> {
  const m = ctx.mirror;
  if (!m) return { state: 'not-configured', detail: 'no --mirror-url: mirror-sync is skipped' };
  return mirrorState(
    { recipe, upstreamUrl: urlFor(ctx.config.upstreamUrl, recipe), mirrorUrl: urlFor(m.mirrorUrl, recipe), cloneDir: path.join(ctx.config.recipesDir, recipe) },
    { token: m.token, log: ctx.log, upstream, env: ctx.env, signal: ctx.signal },
  );
}

export interface SyncOptionsCli {
  syncJobs?: number;
}

/** Syncs every selected recipe's mirror, `syncJobs` at a time; one recipe's failure never stops the others. */
export async function syncMirrors(ctx: SweepContext, enrolment: Enrolment, opts: SyncOptionsCli = {}): Promise<SyncResult[]> {
  const m = ctx.mirror;
  if (!m) return [];
  const queue = new PQueue({ concurrency: Math.max(1, opts.syncJobs ?? 4) });
  const results = await Promise.all(
    enrolment.recipes.map((r) =>
      queue.add(async (): Promise<SyncResult> => {
        if (ctx.signal?.aborted) {
          return { recipe: r.recipe, outcome: 'error', tagsAdded: [], tagConflicts: [], prsClosed: [], wouldDo: [], error: { step: 'ls-remote', message: 'sweep was stopped' } };
        }
        ctx.onEvent?.({ recipe: r.recipe, state: 'syncing', at: Date.now() });
        const result = await syncMirror(
          {
            recipe: r.recipe, upstreamUrl: urlFor(ctx.config.upstreamUrl, r.recipe), mirrorUrl: urlFor(m.mirrorUrl, r.recipe),
            cloneDir: path.join(ctx.config.recipesDir, r.recipe), giteaApi: m.giteaApi,
          },
          {
            token: m.token, writer: ctx.writer, log: ctx.log, signal: ctx.signal, env: ctx.env,
            // Release ages count from when a run or a sync first saw a tag; a dry-run records nothing.
            onUpstreamTags: isDryRun() ? undefined : (tags) => recordSeenTags(ctx.config.stateDir, r.recipe, tags, ctx.now(), (msg) => ctx.log.warn({ recipe: r.recipe }, msg)),
          },
        );
        ctx.log.info({ recipe: r.recipe, sync: result.outcome, tagsAdded: result.tagsAdded.length, prsClosed: result.prsClosed }, 'mirror-sync');
        ctx.onEvent?.({ recipe: r.recipe, state: 'queued', at: Date.now() });
        return result;
      }),
    ),
  );
  return results;
}

// ---------------------------------------------------------------------------------------------------------
// run

export type Outcome =
  | 'skipped' | 'promoted' | 'not-promoted' | 'promote-failed' | 'red' | 'timeout' | 'interrupted' | 'error'
  | 'verified' | 'verify-failed';

export interface RunResult {
  recipe: string;
  decision: Decision;
  reason: Reason;
  tag: string | null;
  outcome: Outcome;
  exitCode: number | null;
  durationMs: number;
  /** harness.log of this run, when a harness was launched. */
  log: string | null;
  /** One line saying why, for every outcome but skipped and promoted. */
  detail?: string;
  /** The commit the tag points to, when known. */
  commit?: string;
  /** Mirror-sync of this recipe, when it ran. */
  sync?: SyncResult;
  /** The clone could not be put back on what it had checked out (git's full reason): not a success. */
  restoreError?: string;
  /** harness.log (or seed.log) misses output: writing it failed, e.g. the disk was full. */
  logIncomplete?: true;
  /** The CI build that ran the test, when a CI executor did. */
  build?: { engine: string; number: number; url: string };
}

export interface RunOptions extends PlanOptions, SyncOptionsCli {
  /** Mirror-sync first (default true when a mirror URL is configured). */
  sync?: boolean;
  jobs?: number;
  testTimeoutMs?: number;
  stopGraceMs?: number;
  /** Where each recipe's test runs (default: this host, through runRecipe). */
  executor?: Executor;
  /** `run --tag` on a release at or below the canonical: test it and, when green, make it the canonical. */
  allowDowngrade?: boolean;
  /** Checked right before each harness launch: why none may start now (a full disk), or null. */
  diskGuard?: () => string | null;
}

/** Today's path: each recipe checked out, tested and promoted on this host. */
export function localExecutor(ctx: SweepContext): Executor {
  return { remote: false, launch: (p, o, testing) => runRecipe(ctx, p, o, testing) };
}

export async function run(ctx: SweepContext, enrolment: Enrolment, opts: RunOptions = {}): Promise<RunResult[]> {
  const emit = (recipe: string, state: SweepEvent['state'], more: Partial<SweepEvent> = {}) =>
    ctx.onEvent?.({ recipe, state, at: Date.now(), ...more });
  const executor = opts.executor ?? localExecutor(ctx);
  // Fail before touching anything if the harness wrapper is missing: every launch would fail the same way,
  // and a timer sweep with nothing new to test should still say the host is broken. A CI executor's
  // builds run cc-ci-run on the runner's host, and this host checks nothing out.
  const ccciRun = executor.remote ? ctx.config.ccciRun : resolveExecutable(ctx.config.ccciRun, ctx.env);
  const unrecovered = executor.remote ? new Map<string, string>() : await recoverCrashedRecipes(ctx, enrolment);
  for (const r of enrolment.recipes) {
    emit(r.recipe, 'queued', { expectedMs: medianDurationMs(readHistory(ctx.config.stateDir, r.recipe).entries) });
  }
  // Mirror-sync first, for every selected recipe (also the ones that end up skipped); the decision that
  // follows reads upstream itself, so a diverged mirror never changes what is tested.
  const synced = opts.sync === false ? [] : await syncMirrors(ctx, enrolment, opts);
  const syncOf = new Map(synced.map((r) => [r.recipe, r]));
  const conditions = await sweepConditions(ctx, opts.testTimeoutMs);
  const planned = await planAll(ctx, enrolment, { ...opts, mirrorState: false }, conditions);
  if (opts.requestedTag !== undefined) assertRequestedTag(planned, opts);
  // A recipe whose clone is still left detached is not touched again until it is put back.
  for (const p of planned) {
    const why = unrecovered.get(p.recipe);
    if (why) Object.assign(p, { decision: 'error', error: why });
  }
  const toRun = planned.filter((p) => p.decision === 'run');
  const jobs = Math.max(1, opts.jobs ?? 1);
  // With several at once, start the longest first (median of past runs), so the sweep ends sooner.
  if (jobs > 1) {
    const expected = (p: Planned) => medianDurationMs(p.history) ?? Number.MAX_SAFE_INTEGER;
    toRun.sort((a, b) => expected(b) - expected(a) || (a.recipe < b.recipe ? -1 : 1));
  }
  const queue = new PQueue({ concurrency: jobs });
  const byRecipe = new Map<string, RunResult>();
  for (const p of planned) {
    if (p.decision === 'run') continue;
    byRecipe.set(p.recipe, notRun(p));
    emit(p.recipe, 'done', { tag: p.latest, outcome: byRecipe.get(p.recipe)!.outcome });
  }
  await executor.prepare?.(toRun);
  await Promise.all(
    toRun.map((p) =>
      queue.add(async () => {
        // A CI executor records what this host would compare a later plan with (known-red), not the runner's.
        const r = await executor.launch(p, { ...opts, ccciRun: executor.remote ? conditions.ccciRun : ccciRun, ccciCommit: conditions.ccciCommit }, () =>
          emit(p.recipe, 'testing', { tag: p.latest, expectedMs: medianDurationMs(p.history) }),
        );
        byRecipe.set(p.recipe, r);
        emit(p.recipe, 'done', { tag: r.tag, outcome: r.outcome });
      }),
    ),
  );
  return planned.map((p) => {
    const r = byRecipe.get(p.recipe)!;
    const sync = syncOf.get(r.recipe);
    return sync ? { ...r, sync } : r;
  });
}

/** `run --tag`: a tag that is not a release, is held, or is a downgrade without the flag is exit 2. */
function assertRequestedTag(planned: Planned[], opts: RunOptions): void {
  for (const p of planned) {
    if (p.decision !== 'run' || p.reason !== 'requested') continue;
    const problem = requestedTagProblem(p.recipe, opts.requestedTag!, p.tags.keys(), p.record?.version ?? null, {
      allowDowngrade: opts.allowDowngrade, heldTags: p.controls?.decision.heldTags,
    });
    if (problem) throw new UsageError(problem);
  }
}

export function notRun(p: Planned): RunResult {
  return {
    recipe: p.recipe, decision: p.decision, reason: p.reason, tag: p.latest,
    outcome: p.decision === 'error' ? 'error' : 'skipped', exitCode: null, durationMs: 0, log: null,
    ...(p.error ? { detail: p.error } : {}),
  };
}

export interface RecipeRun extends RunOptions {
  ccciRun: string;
  ccciCommit: string | null;
  /** The upgrade base the harness gets, when not this host's canonical (a CI worker is told it). */
  upgradeBase?: string | null;
  /** Fields every history line of this run carries (a CI worker's sweep id and build). */
  attemptExtra?: Record<string, unknown>;
  /** `verify` (src/sweep/verify.ts): the canonical's tag tested quickly (CCCI_QUICK, CCCI_VERIFY), never promoted. */
  verify?: boolean;
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
          fetchRelease(cloneDir, upstream, tag, p.tags.get(tag)!, { log, env: ctx.env, signal: ctx.signal }));
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
    const dirty = await worktreeChanges(cloneDir, { env: ctx.env });
    if (dirty.length > 0) {
      const shown = dirty.slice(0, 5).join(', ') + (dirty.length > 5 ? ` and ${dirty.length - 5} more` : '');
      return result('error', {
        commit, detail: `clone ${cloneDir} has local changes (${shown}): only a clean tree is tested as a release; commit, stash or remove them`,
      });
    }

    // 3. The tag, detached. What was checked out goes into the lock first, so even a kill -9 from here on
    //    leaves enough for the next sweep to put the clone back; `finally` puts it back otherwise.
    saved = await currentCheckout(cloneDir, { env: ctx.env });
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

/** A sweep killed mid-test left its clone detached: put back what the lock says was checked out. */
async function restoreAfterCrash(stale: LockInfo, log: Logger): Promise<void> {
  if (!stale.clone || !stale.saved) return;
  // Nothing to put back in a clone that is gone (an operator removed it): the next test clones it again.
  if (!existsSync(stale.clone)) {
    log.warn({ clone: stale.clone }, 'the clone a crashed sweep left is gone; it is cloned again when next tested');
    return;
  }
  log.warn({ clone: stale.clone, branch: stale.saved.branch, commit: stale.saved.commit }, 'restoring a clone left by a crashed sweep');
  await restoreCheckout(stale.clone, stale.saved);
}

/**
 * At the start of a run: recover every selected recipe a crashed sweep left locked. Returns the recipes
 * that could not be recovered, with why: they are errors of this run, whatever their decision.
 */
async function recoverCrashedRecipes(ctx: SweepContext, enrolment: Enrolment): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  for (const r of enrolment.recipes) {
    const file = recipeLockPath(recipeStateDir(ctx.config.stateDir, r.recipe));
    if (!existsSync(file)) continue;
    const log = ctx.log.child({ recipe: r.recipe });
    try {
      const lock = await tryLock(file, { log, command: 'recover', by: startedBy(ctx.env), onStale: (s) => restoreAfterCrash(s, log) });
      if ('release' in lock) lock.release();
      else if (orphanedHarness(lock)) {
        // A crashed sweep's test still runs: leave its clone alone and start nothing; the others go on.
        const why = recipeBusy(r.recipe, lock);
        log.error({ harnessPid: lock.harness?.pid }, why);
        failed.set(r.recipe, why);
      }
    } catch (err) {
      const why = `the clone an earlier sweep left detached cannot be put back (${scrub(messageOf(err))}); fix the clone, the next run restores it`;
      log.error({ err: messageOf(err) }, why);
      failed.set(r.recipe, why);
    }
  }
  return failed;
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
    const [head, changes] = await Promise.all([currentCheckout(cloneDir, { env }), worktreeChanges(cloneDir, { env })]);
    return { head: head.commit, changes };
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

export function startedBy(env: NodeJS.ProcessEnv): string {
  // systemd sets INVOCATION_ID for units; a by-hand run has a user.
  return env.INVOCATION_ID ? 'timer' : `operator:${env.SUDO_USER ?? env.USER ?? 'unknown'}`;
}
