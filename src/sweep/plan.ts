// plan: canonical + upstream tags -> decision, per recipe, reading only. `run` plans the same way first.
import path from 'node:path';
import PQueue from 'p-queue';
import { effectiveTimeout, knownRed } from '../core/attempts.js';
import type { CanonicalRecord, HistoryEntry } from '../core/canonical-record.js';
import { readCanonical, readHistory } from '../adapters/fs/state-store.js';
import { urlFor } from '../core/config.js';
import { decide, type DecisionInput } from '../core/decision.js';
import { decisionControls } from './controls.js';
import type { Cadence, Enrolment } from '../core/enrolment.js';
import { messageOf } from '../core/errors.js';
import { headCommit, localTags, lsRemote, objectTypeLookup, type ObjectTypeLookup } from '../adapters/git.js';
import { type Listing, tagTargets } from '../core/refs.js';
import { resolveExecutable } from '../adapters/harness.js';
import type { SweepContext } from './context.js';
import { DEFAULT_REMOTE_JOBS, type OperatorControls, type PlanEntry, type Planned, type PlanOptions, type SweepConditions } from '../core/sweep-types.js';
import { mirrorStateOf } from './sync.js';

export async function plan(ctx: SweepContext, enrolment: Enrolment, opts: PlanOptions = {}): Promise<PlanEntry[]> {
  return (await planAll(ctx, enrolment, opts, await sweepConditions(ctx, opts.testTimeoutMs))).map(publicEntry);
}

export function publicEntry({ record: _r, tags: _t, history: _h, notCommits: _n, controls: _c, defaultBranch: _b, ...entry }: Planned): PlanEntry {
  return entry;
}

export async function planAll(ctx: SweepContext, enrolment: Enrolment, opts: PlanOptions, conditions: SweepConditions): Promise<Planned[]> {
  const queue = new PQueue({ concurrency: opts.remoteJobs ?? DEFAULT_REMOTE_JOBS });
  const types = typeLookup(ctx, enrolment.recipes.map((r) => r.recipe), opts);
  let planned: Planned[];
  try {
    planned = await Promise.all(
      enrolment.recipes.map((r) => planRecipe(ctx, r.recipe, r.cadence, opts, conditions, types, (fn) => queue.add(fn))),
    );
  } finally {
    types?.close();
  }
  const problems: Planned[] = enrolment.problems.map((p) => ({
    recipe: p.recipe, cadence: p.cadence, canonical: null, latest: null, decision: 'error', reason: 'enrolment-invalid',
    ignoredTags: [], error: p.problem, record: null, tags: new Map(), notCommits: [], history: [],
  }));
  return [...planned, ...problems].sort((a, b) => (a.recipe < b.recipe ? -1 : 1));
}

export function decideFor(
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
  const types = typeLookup(ctx, [recipe], opts);
  try {
    return await planRecipe(ctx, recipe, cadence, opts, conditions, types);
  } finally {
    types?.close();
  }
}

/** Runs `fn` when one of the plan's remote slots is free. */
type Slot = <T>(fn: () => Promise<T>) => Promise<T>;

/** One process answers every clone's object types (offline plans read the clones' own tags instead). */
function typeLookup(ctx: SweepContext, recipes: string[], opts: PlanOptions): ObjectTypeLookup | null {
  if (opts.offline) return null;
  return objectTypeLookup(recipes.map((r) => path.join(ctx.config.recipesDir, r)), { env: ctx.env, signal: ctx.signal, log: ctx.log });
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
  ctx: SweepContext, recipe: string, cadence: Cadence, opts: PlanOptions, conditions: SweepConditions, lookup: ObjectTypeLookup | null,
  slot: Slot = (fn) => fn(),
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
  const shared = opts.mirrorState && ctx.mirror && !opts.offline;
  // The slot bounds what runs at once (requests, or git processes offline); it is free again before the
  // types are asked and the decision made, so the next recipe's request does not wait for them.
  const { listed, mirror } = await slot(async () => {
    // HEAD's symref too: listed in-process it comes in the same reply, and the run's fetch reuses it.
    const listing = opts.offline
      ? localTags(cloneDir, { env: ctx.env })
      : lsRemote(upstreamUrl, shared ? { ...remote, symref: true } : { ...remote, tagsOnly: true, symref: true });
    const state = opts.mirrorState ? mirrorStateOf(ctx, recipe, shared ? (listing as Promise<Listing>) : undefined) : null;
    const [l, m] = await Promise.allSettled([listing, state]);
    return { listed: l, mirror: m };
  });
  const mirrorState = () => (mirror.status === 'fulfilled' ? mirror.value : Promise.reject(mirror.reason));
  let tags: Map<string, string>;
  let notCommits: string[] = [];
  let defaultBranch: string | undefined;
  try {
    if (listed.status === 'rejected') throw listed.reason;
    if ('notCommits' in listed.value) {
      ({ tags, notCommits } = listed.value);
    } else {
      tags = tagTargets(listed.value);
      defaultBranch = listed.value.defaultBranch;
      // A tag that points to a tree or blob is not a release. ls-remote cannot say what an object is; the
      // clones can for every object they already hold (after a mirror-sync: all of them). The others are
      // checked when the run fetches the tag.
      const types = lookup ? await lookup.types([...tags.values()]) : new Map();
      for (const [tag, id] of tags) {
        const type = types.get(id);
        if (type !== undefined && type !== 'commit') {
          tags.delete(tag);
          notCommits.push(tag);
        }
      }
    }
  } catch (err) {
    return { ...base, canonical, record, history, decision: 'error', reason: 'tags-unavailable', error: messageOf(err) };
  }
  notCommits.sort();
  let controls: OperatorControls;
  try {
    controls = decisionControls(ctx, recipe, tags, opts);
  } catch (err) {
    return { ...base, canonical, record, history, decision: 'error', reason: 'holds-unreadable', error: messageOf(err) };
  }
  const d = decideFor(tags, record, history, opts, conditions, controls.decision);
  const entry: Planned = {
    ...base, canonical, record, tags, notCommits, history, ...d, ignoredTags: [...d.ignoredTags, ...notCommits], controls, ...controls.shown,
    ...(defaultBranch ? { defaultBranch } : {}),
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
  const shownMirror = await mirrorState();
  if (shownMirror) entry.mirror = shownMirror;
  ctx.log.debug({ recipe, decision: d.decision, reason: d.reason, latest: d.latest }, 'decided');
  return entry;
}

// ---------------------------------------------------------------------------------------------------------
// mirror-sync: the recipe's mirror becomes a faithful copy of upstream before anything is decided
