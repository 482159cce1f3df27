// `npm run bench` (issue 7): does the sweep's own work (talking to the remotes, ordering tags, launching
// tests) cost next to nothing, and is a preview of the whole catalogue instant? Builds a synthetic catalogue,
// serves it over git's smart HTTP protocol with a fixed delay per request, and measures ccci-sweep against
// sequential bash loops that do what the replaced Python sweep did, alternating the two run by run.
// Prints a table (stderr with --json, else stdout) and, with --json / --out FILE, the same as JSON.
// Timings are reported against targets, never asserted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type GitHttpServer, startGitHttpServer } from '../../test/support/git-http-server.js';
import { buildCatalogue, buildCcciRepo, buildTemplate, ensureUpstream, kindOf, ODD_TAGS, recipeName, releaseTags, type SandboxModule } from './catalogue.js';
import { haveGnuTime, linearFit, stats, type Stats, timed, type Timed, timeInProcess } from './measure.js';

type VersionModule = typeof import('../../src/core/version.js');

const REPO = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(REPO, 'bin', 'ccci-sweep.js');
const HERE = import.meta.dirname;
const NODE = process.execPath;

// ---------------------------------------------------------------------------------------------------------
// options

export interface BenchOptions {
  recipes: number;
  tags: number;
  runs: number;
  latency: number;
  json: boolean;
  out: string | null;
  growthRecipes: number[];
  growthTags: number[];
  runRecipes: number;
  jobs: number;
  syncJobs: number | null;
  keep: boolean;
}

const USAGE = `usage: npm run bench -- [options]
  --recipes N            catalogue size (default 300)
  --tags T               release tags per recipe (default 40)
  --runs R               runs per contender, alternated (default 3)
  --latency MS           delay the loopback git server adds to every request (default 50)
  --run-recipes M        recipes in the harness-overhead run (default min(N, 50))
  --jobs J               run --jobs for the overhead run (default 1)
  --sync-jobs S          sync --sync-jobs (default: ccci-sweep's own default)
  --growth-recipes LIST  plan sizes for the growth figure (default 50,100,300,1000)
  --growth-tags LIST     tag counts for the growth figure (default 10,100,1000,10000)
  --json                 print the results as JSON on stdout (the table goes to stderr)
  --out FILE             write the JSON to FILE
  --keep                 keep the temp dir with the catalogue
`;

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      recipes: { type: 'string' }, tags: { type: 'string' }, runs: { type: 'string' }, latency: { type: 'string' },
      'run-recipes': { type: 'string' }, jobs: { type: 'string' }, 'sync-jobs': { type: 'string' },
      'growth-recipes': { type: 'string' }, 'growth-tags': { type: 'string' },
      json: { type: 'boolean' }, out: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, dflt: number, min = 1): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number of at least ${min}, not ${JSON.stringify(v)}`);
    return n;
  };
  const list = (name: string, v: string | undefined, dflt: number[]): number[] =>
    v === undefined ? dflt : [...new Set(v.split(',').map((s) => int(name, s.trim(), 0)))].sort((a, b) => a - b);
  const recipes = int('recipes', values.recipes, 300);
  return {
    recipes,
    tags: int('tags', values.tags, 40),
    runs: int('runs', values.runs, 3),
    latency: int('latency', values.latency, 50, 0),
    json: values.json ?? false,
    out: values.out ?? null,
    growthRecipes: list('growth-recipes', values['growth-recipes'], [50, 100, 300, 1000]),
    growthTags: list('growth-tags', values['growth-tags'], [10, 100, 1000, 10000]),
    runRecipes: int('run-recipes', values['run-recipes'], Math.min(recipes, 50)),
    jobs: int('jobs', values.jobs, 1),
    syncJobs: values['sync-jobs'] === undefined ? null : int('sync-jobs', values['sync-jobs'], 1),
    keep: values.keep ?? false,
  };
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------------------
// rows: one per figure, the same in the table and in the JSON

type Field = 'ccci' | 'baseline' | 'ratio' | 'met';

export interface Row {
  id: string;
  figure: string;
  unit: string;
  /** ccci-sweep's figure (median when sampled). */
  ccci: number | null;
  ccciStats?: Stats;
  /** What it is compared with: the bash baseline, the floor, `node -e 0`… (see baselineLabel). */
  baseline: number | null;
  baselineStats?: Stats;
  baselineLabel: string | null;
  ratio: number | null;
  /** How to read the ratio, e.g. "x faster" (baseline ÷ ccci-sweep) or "x floor" (ccci-sweep ÷ floor). */
  ratioLabel: string | null;
  target: string | null;
  met: boolean | null;
  /** Why each null field is null. */
  why: Partial<Record<Field, string>>;
  note?: string;
}

type RowInput = Omit<Row, 'baseline' | 'baselineLabel' | 'ratio' | 'ratioLabel' | 'target' | 'met' | 'why'> &
  Partial<Pick<Row, 'baseline' | 'baselineLabel' | 'ratio' | 'ratioLabel' | 'target' | 'met' | 'why'>>;

function row(r: RowInput): Row {
  const out: Row = {
    baseline: null, baselineLabel: null, ratio: null, ratioLabel: null, target: null, met: null, ...r, why: { ...r.why },
  };
  for (const k of ['ccci', 'baseline', 'ratio'] as const) {
    const v = out[k];
    if (v !== null && !Number.isFinite(v)) {
      out.why[k] ??= `not a finite number (${String(v)})`;
      out[k] = null;
    }
  }
  if (out.ccci === null) out.why.ccci ??= 'not measured';
  if (out.baseline === null) out.why.baseline ??= 'no baseline for this figure';
  if (out.ratio === null) out.why.ratio ??= out.baseline === null ? 'nothing to compare with' : 'not computed';
  if (out.met === null) out.why.met ??= out.target === null ? 'no target for this figure' : 'not measured';
  for (const k of Object.keys(out.why) as Field[]) if (out[k] !== null) delete out.why[k];
  return out;
}

const ratioOf = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null || b == null || b === 0 ? null : a / b;

// ---------------------------------------------------------------------------------------------------------
// helpers

const say = (text: string) => process.stderr.write(`[bench] ${text}\n`);

function baseEnv(home: string, settings: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('CCCI_') || k.startsWith('GIT_') || k === 'CREDENTIALS_DIRECTORY' || k === 'ABRA_DIR' || k === 'XDG_CONFIG_HOME') continue;
    env[k] = v;
  }
  // An empty HOME: no ~/.gitconfig (url rewrites, credential helpers) changes what is measured.
  return { ...env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', CCCI_LOG_FORMAT: 'json', CCCI_SETTINGS: settings };
}

interface RequestCount {
  requests: number;
  infoRefs: number;
  /** POSTs to git-receive-pack: something was pushed. */
  pushes: number;
  failed: number;
}

function countRequests(server: GitHttpServer): RequestCount {
  const r = server.requests;
  return {
    requests: r.length,
    infoRefs: r.filter((q) => q.path.endsWith('/info/refs')).length,
    pushes: r.filter((q) => q.method === 'POST' && q.service === 'git-receive-pack').length,
    failed: r.filter((q) => (q.status ?? 200) >= 400).length,
  };
}

/** Runs a command with the server's request log cleared first; returns the timing and what reached the server. */
async function measured(server: GitHttpServer, cmd: string, args: string[], env: NodeJS.ProcessEnv, rss = false): Promise<Timed & { net: RequestCount }> {
  server.requests.length = 0;
  const t = await timed(cmd, args, { env, rss });
  return { ...t, net: countRequests(server) };
}

function expectExit(t: Timed, ok: number[], what: string): void {
  if (t.code !== null && ok.includes(t.code)) return;
  const tail = t.stderr.trim().split('\n').slice(-5).join('\n');
  throw new Error(`${what} exited ${t.code}:\n${tail}`);
}

function jsonOf<T>(t: Timed, what: string): T {
  try {
    return JSON.parse(t.stdout) as T;
  } catch {
    throw new Error(`${what} did not print JSON (exit ${t.code}):\n${t.stdout.slice(0, 500)}\n${t.stderr.slice(-1000)}`);
  }
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

/** The plan's default remote concurrency, read from its --help so the floor follows it. */
function remoteJobs(): number {
  const help = spawnSync(NODE, [BIN, 'plan', '--help'], { encoding: 'utf8' }).stdout ?? '';
  const m = /--remote-jobs <n>[\s\S]*?\(default: (\d+)\)/.exec(help);
  return m?.[1] ? Number(m[1]) : 16;
}

/** Alternates the contenders run by run (A B, B A, A B…), so drift on the machine hits both alike. */
async function alternate<K extends string>(runs: number, contenders: Record<K, () => Promise<void>>): Promise<void> {
  const names = Object.keys(contenders) as K[];
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const n of order) await contenders[n]();
  }
}

// ---------------------------------------------------------------------------------------------------------
// the benchmark

interface PlanDoc {
  recipes: { recipe: string; decision: string; reason: string; latest: string | null; error?: string }[];
}

export async function bench(o: BenchOptions): Promise<{ doc: Record<string, unknown>; table: string }> {
  if (!existsSync(path.join(REPO, 'dist', 'cli', 'main.js'))) throw new UsageError('dist/ is missing: run `npm run build` first (npm run bench does)');
  const sb: SandboxModule = await import('../../test/support/sandbox.js');
  const version = (await import(pathToFileURL(path.join(REPO, 'dist', 'core', 'version.js')).href)) as VersionModule;
  const root = mkdtempSync(path.join(tmpdir(), 'ccci-bench-'));
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const warnings: string[] = [];
  const warn = (w: string) => {
    warnings.push(w);
    say(`warning: ${w}`);
  };
  const servers: GitHttpServer[] = [];
  const conc = remoteJobs();
  const L = o.latency;
  try {
    say(`building ${o.recipes} recipes x ${o.tags} tags in ${root}`);
    const cat = buildCatalogue(root, o.recipes, o.tags, sb);
    say(`catalogue built in ${(cat.buildMs / 1000).toFixed(1)} s`);
    const home = path.join(root, 'home');
    mkdirSync(home);
    const env0 = baseEnv(home, cat.settings);
    // The loopback servers answer a repeated ref listing from a cache (as a forge's ref cache does): on the
    // real host the forge's CPU is not ours, here a git http-backend per request would share our 2 cores.
    // The same servers, uncached, are measured too (1c), so that cost is shown, not hidden.
    const server = await startGitHttpServer({ root: cat.gitRoot, latencyMs: L, cacheRefs: true });
    const fast = await startGitHttpServer({ root: cat.gitRoot, latencyMs: 0, cacheRefs: true });
    const uncached = await startGitHttpServer({ root: cat.gitRoot, latencyMs: L });
    servers.push(server, fast, uncached);
    const upstreamUrl = `${server.url}/upstream/{recipe}.git`;
    const mirrorUrl = `${server.url}/mirror/{recipe}.git`;
    const env = { ...env0, CCCI_REPO: cat.ccciRepo, CCCI_STATE_DIR: cat.stateDir, CCCI_RECIPES_DIR: cat.recipesDir, CCCI_UPSTREAM_URL: upstreamUrl };
    const N = o.recipes;
    // Every plan must see each recipe's whole tag list: a wrong "latest" means a partial ls-remote answer.
    const expectedLatest = (recipe: string): string | null | undefined => {
      const m = /^recipe-(\d+)$/.exec(recipe);
      if (!m) return undefined;
      return kindOf(Number(m[1]) - 1) === 'never-released' ? null : cat.released.releases.at(-1)!;
    };
    const checkLatest = (doc: PlanDoc, what: string): void => {
      const wrong = doc.recipes.filter((r) => r.decision !== 'error' && expectedLatest(r.recipe) !== undefined && r.latest !== expectedLatest(r.recipe));
      if (wrong.length) {
        const w = wrong[0]!;
        warn(`${what}: ${wrong.length} recipes saw the wrong newest release, e.g. ${w.recipe} ${w.latest} instead of ${expectedLatest(w.recipe)} (partial tag list?)`);
      }
    };

    // 1. plan over the whole catalogue vs the sequential bash loop ----------------------------------------
    say(`1/6 plan: ${o.runs} runs each, alternating`);
    const planMs: number[] = [];
    const baseMs: number[] = [];
    const refMs: number[] = [];
    let planNet: RequestCount | null = null;
    let planDoc: PlanDoc | null = null;
    let baseOut = '';
    const planCpu: number[] = [];
    await alternate(o.runs, {
      ccci: async () => {
        const t = await measured(server, NODE, [BIN, 'plan', '--json'], env);
        expectExit(t, [0, 1], 'ccci-sweep plan');
        planDoc = jsonOf<PlanDoc>(t, 'ccci-sweep plan');
        checkLatest(planDoc, `plan run ${planMs.length + 1}`);
        planMs.push(t.ms);
        planNet = t.net;
        if (t.cpuMs !== null) planCpu.push(t.cpuMs);
      },
      baseline: async () => {
        const t = await measured(server, 'bash', [path.join(HERE, 'baseline-plan.sh'), cat.ccciRepo, cat.stateDir, upstreamUrl], env);
        expectExit(t, [0], 'baseline-plan.sh');
        baseMs.push(t.ms);
        baseOut = t.stdout;
      },
      reference: async () => {
        const t = await measured(server, 'bash', [path.join(HERE, 'parallel-ls-remote.sh'), cat.ccciRepo, upstreamUrl, String(conc)], env);
        expectExit(t, [0], 'parallel-ls-remote.sh');
        refMs.push(t.ms);
      },
    });
    const pd = planDoc as PlanDoc | null;
    const pn = planNet as RequestCount | null;
    const planErrors = pd?.recipes.filter((r) => r.decision === 'error') ?? [];
    if (planErrors.length) warn(`plan reported ${planErrors.length} recipes in error, e.g. ${planErrors[0]!.recipe}: ${planErrors[0]!.error}`);
    // Does the baseline decide the same? (a sanity check of both, not a figure)
    const baseDecisions = new Map(baseOut.trim().split('\n').filter(Boolean).map((l) => {
      const [recipe, , latest, decision] = l.split('\t');
      return [recipe!, { latest: latest === '-' ? null : latest!, decision: decision!.split(' ')[0]! }];
    }));
    const agree = pd?.recipes.filter((r) => {
      const b = baseDecisions.get(r.recipe);
      return b && b.decision === r.decision && b.latest === r.latest;
    }).length ?? 0;
    const planS = stats(planMs);
    const baseS = stats(baseMs);
    const rtPerRecipe = pn ? pn.requests / N : null;
    const floor = rtPerRecipe === null ? null : (N * rtPerRecipe * L) / conc;
    details.plan = {
      decisions: pd ? countBy(pd.recipes, (r) => `${r.decision}:${r.reason}`) : null,
      baselineAgrees: `${agree}/${N}`,
      requests: pn, requestsPerRecipe: rtPerRecipe, remoteJobs: conc,
      cpuMsAllProcesses: planCpu.length ? stats(planCpu) : null,
      cpuNote: 'user+system time of every process during a ccci-sweep plan run, the loopback server\'s git http-backend included; above cores x wall the machine, not the network, is the limit',
    };
    const speedup = ratioOf(baseS.median, planS.median);
    rows.push(row({
      id: 'plan.wall', figure: `plan, ${N} recipes x ${o.tags} tags @ ${L} ms`, unit: 'ms',
      ccci: planS.median, ccciStats: planS, baseline: baseS.median, baselineStats: baseS, baselineLabel: 'bash loop',
      ratio: speedup, ratioLabel: 'x faster', target: '>= 10x faster', met: speedup === null ? null : speedup >= 10,
      note: `baseline decides the same for ${agree}/${N} recipes`,
    }));
    const ofFloor = ratioOf(planS.median, floor);
    rows.push(row({
      id: 'plan.floor', figure: `plan vs floor (${rtPerRecipe?.toFixed(1)} round trips/recipe / ${conc})`, unit: 'ms',
      ccci: planS.median, ccciStats: planS, baseline: floor, baselineLabel: 'floor',
      ratio: ofFloor, ratioLabel: 'x floor', target: '<= 1.5x floor', met: ofFloor === null ? null : ofFloor <= 1.5,
      why: floor === null ? { baseline: 'no requests recorded' } : {},
    }));

    const refS = stats(refMs);
    const ofRef = ratioOf(planS.median, refS.median);
    rows.push(row({
      id: 'plan.parallel', figure: `plan vs bare git: xargs -P${conc} git ls-remote, no Node`, unit: 'ms',
      ccci: planS.median, ccciStats: planS, baseline: refS.median, baselineStats: refS, baselineLabel: 'xargs',
      ratio: ofRef, ratioLabel: 'x bare git',
      note: 'what this machine and the loopback server allow at the same concurrency; ccci-sweep plan adds the rest',
    }));

    // 1b. plan with a mirror configured: it then also reports each mirror's state.
    say('1b/6 plan with --mirror-url (mirror state shown)');
    const pmMs: number[] = [];
    let pmNet: RequestCount | null = null;
    for (let r = 0; r < o.runs; r++) {
      const t = await measured(server, NODE, [BIN, 'plan', '--json'], { ...env, CCCI_MIRROR_URL: mirrorUrl });
      expectExit(t, [0, 1], 'ccci-sweep plan (mirror)');
      checkLatest(jsonOf<PlanDoc>(t, 'ccci-sweep plan (mirror)'), `plan with mirror run ${r + 1}`);
      pmMs.push(t.ms);
      pmNet = t.net;
    }
    const pmS = stats(pmMs);
    const pmN = pmNet as RequestCount | null;
    const pmFloor = pmN ? (pmN.requests / N) * N * L / conc : null;
    rows.push(row({
      id: 'plan.mirror', figure: `plan + mirror state, ${N} recipes (${pmN ? (pmN.infoRefs / N).toFixed(1) : '?'} connections/recipe)`, unit: 'ms',
      ccci: pmS.median, ccciStats: pmS, baseline: planS.median, baselineLabel: 'plan alone',
      ratio: ratioOf(pmS.median, planS.median), ratioLabel: 'x plan alone',
      note: `floor for its ${pmN ? (pmN.requests / N).toFixed(1) : '?'} requests/recipe: ${pmFloor?.toFixed(0)} ms`,
    }));
    details.planMirror = { requests: pmN, requestsPerRecipe: pmN ? pmN.requests / N : null, infoRefsPerRecipe: pmN ? pmN.infoRefs / N : null };

    // 1c. the same plan against a server without the ref cache: git http-backend for every request
    say('1c/6 plan and xargs against the uncached server (git http-backend per request)');
    const ucMs: number[] = [];
    const ucRefMs: number[] = [];
    const ucUrl = `${uncached.url}/upstream/{recipe}.git`;
    await alternate(o.runs, {
      ccci: async () => {
        const t = await measured(uncached, NODE, [BIN, 'plan', '--json'], { ...env, CCCI_UPSTREAM_URL: ucUrl });
        expectExit(t, [0, 1], 'ccci-sweep plan (uncached server)');
        checkLatest(jsonOf<PlanDoc>(t, 'ccci-sweep plan (uncached server)'), `uncached plan run ${ucMs.length + 1}`);
        ucMs.push(t.ms);
      },
      reference: async () => {
        const t = await measured(uncached, 'bash', [path.join(HERE, 'parallel-ls-remote.sh'), cat.ccciRepo, ucUrl, String(conc)], env);
        expectExit(t, [0], 'parallel-ls-remote.sh (uncached server)');
        ucRefMs.push(t.ms);
      },
    });
    const ucS = stats(ucMs);
    const ucRefS = stats(ucRefMs);
    rows.push(row({
      id: 'plan.uncached', figure: `plan vs xargs, server WITHOUT ref cache (a git http-backend per request on our cores)`, unit: 'ms',
      ccci: ucS.median, ccciStats: ucS, baseline: ucRefS.median, baselineStats: ucRefS, baselineLabel: 'xargs',
      ratio: ratioOf(ucS.median, ucRefS.median), ratioLabel: 'x bare git',
      note: `floor ${floor?.toFixed(0)} ms; here the server's processes, not the network, set the pace`,
    }));

    // 1d. the concurrency default, measured: plan at several --remote-jobs against each one's floor
    const jobsList = [...new Set([8, conc, 32, 48])].sort((a, b) => a - b);
    say(`1d/6 plan at --remote-jobs ${jobsList.join(', ')}`);
    const byJobs = new Map<number, number[]>(jobsList.map((j) => [j, []]));
    for (let r = 0; r < o.runs; r++) {
      for (const j of r % 2 === 0 ? jobsList : [...jobsList].reverse()) {
        const t = await measured(server, NODE, [BIN, 'plan', '--json', '--remote-jobs', String(j)], env);
        expectExit(t, [0, 1], `ccci-sweep plan --remote-jobs ${j}`);
        byJobs.get(j)!.push(t.ms);
      }
    }
    for (const j of jobsList) {
      const s = stats(byJobs.get(j)!);
      const fl = rtPerRecipe === null ? null : (N * rtPerRecipe * L) / j;
      rows.push(row({
        id: `plan.jobs.${j}`, figure: `plan --remote-jobs ${j}${j === conc ? ' (default)' : ''}`, unit: 'ms',
        ccci: s.median, ccciStats: s, baseline: fl, baselineLabel: 'floor', ratio: ratioOf(s.median, fl), ratioLabel: 'x floor',
      }));
    }
    details.remoteJobs = Object.fromEntries(jobsList.map((j) => [j, stats(byJobs.get(j)!)]));

    // 2. sync with nothing to do vs the sequential fetch+push loop -----------------------------------------
    say(`2/6 sync, every mirror already in sync: ${o.runs} runs each`);
    const syncHelp = await timed(NODE, [BIN, 'sync', '--help'], { env });
    const syncAvailable = syncHelp.code === 0;
    const syncEnv = { ...env, CCCI_MIRROR_URL: mirrorUrl };
    const syncArgs = [BIN, 'sync', '--json', ...(o.syncJobs ? ['--sync-jobs', String(o.syncJobs)] : [])];
    const syncJobsDefault = /--sync-jobs <n>.*\(default: (\d+)\)/.exec(syncHelp.stdout)?.[1];
    const sMs: number[] = [];
    const bsMs: number[] = [];
    let sNet: RequestCount | null = null;
    let bsNet: RequestCount | null = null;
    let sOutcomes: Record<string, number> | null = null;
    await alternate(o.runs, {
      ccci: async () => {
        if (!syncAvailable) return;
        const t = await measured(server, NODE, syncArgs, syncEnv);
        expectExit(t, [0, 1], 'ccci-sweep sync');
        const doc = jsonOf<{ recipes: { outcome: string }[] }>(t, 'ccci-sweep sync');
        sOutcomes = countBy(doc.recipes, (r) => r.outcome);
        if (t.code !== 0) warn(`ccci-sweep sync exited ${t.code}: ${JSON.stringify(sOutcomes)}`);
        sMs.push(t.ms);
        sNet = t.net;
      },
      baseline: async () => {
        const t = await measured(server, 'bash', [path.join(HERE, 'baseline-sync.sh'), cat.ccciRepo, cat.recipesDir, upstreamUrl, mirrorUrl], env);
        expectExit(t, [0], 'baseline-sync.sh');
        const bad = t.stdout.split('\n').filter((l) => l && !l.endsWith('\tok'));
        if (bad.length) warn(`baseline-sync.sh: ${bad.length} recipes failed, e.g. ${bad[0]}`);
        bsMs.push(t.ms);
        bsNet = t.net;
      },
    });
    const sn = sNet as RequestCount | null;
    const bsn = bsNet as RequestCount | null;
    const na = syncAvailable ? undefined : 'n/a: `ccci-sweep sync` is not available in this build';
    const sS = sMs.length ? stats(sMs) : null;
    const bsS = stats(bsMs);
    const syncJobs = o.syncJobs ?? (syncJobsDefault ? Number(syncJobsDefault) : null);
    details.sync = { available: syncAvailable, syncJobs, outcomes: sOutcomes, requests: sn, baselineRequests: bsn };
    rows.push(row({
      id: 'sync.wall', figure: `sync, ${N} mirrors in sync (sync-jobs ${syncJobs ?? '?'})`, unit: 'ms',
      ccci: sS?.median ?? null, ccciStats: sS ?? undefined, baseline: bsS.median, baselineStats: bsS, baselineLabel: 'bash loop',
      ratio: ratioOf(bsS.median, sS?.median), ratioLabel: 'x faster', why: na ? { ccci: na, ratio: na } : {},
      note: sOutcomes ? `outcomes ${JSON.stringify(sOutcomes)}` : undefined,
    }));
    const per = (c: RequestCount | null, k: keyof RequestCount) => (c ? c[k] / N : null);
    const conn = per(sn, 'infoRefs');
    rows.push(row({
      id: 'sync.connections', figure: 'sync: git connections per recipe (GET info/refs)', unit: '',
      ccci: conn, baseline: per(bsn, 'infoRefs'), baselineLabel: 'bash loop', target: '<= 2',
      met: conn === null ? null : conn <= 2, why: na ? { ccci: na, met: na } : {},
    }));
    rows.push(row({
      id: 'sync.requests', figure: 'sync: HTTP requests per recipe', unit: '',
      ccci: per(sn, 'requests'), baseline: per(bsn, 'requests'), baselineLabel: 'bash loop', why: na ? { ccci: na } : {},
    }));
    rows.push(row({
      id: 'sync.pushes', figure: 'sync: pushes (POST git-receive-pack)', unit: '',
      ccci: sn ? sn.pushes : null, baseline: bsn ? bsn.pushes : null, baselineLabel: 'bash loop',
      target: '0', met: sn ? sn.pushes === 0 : null, why: na ? { ccci: na, met: na } : {},
    }));

    // 3. start-up ----------------------------------------------------------------------------------------
    const startupRuns = Math.max(5, o.runs * 5);
    say(`3/6 start-up: ${startupRuns} runs each`);
    const vMs: number[] = [];
    const nMs: number[] = [];
    const pkgVersion = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    await alternate(startupRuns, {
      ccci: async () => {
        const t = await timed(NODE, [BIN, '--version'], { env });
        expectExit(t, [0], 'ccci-sweep --version');
        if (t.stdout.trim() !== pkgVersion) warn(`--version printed ${JSON.stringify(t.stdout.trim())}, package.json says ${pkgVersion}`);
        vMs.push(t.ms);
      },
      node: async () => {
        const t = await timed(NODE, ['-e', '0'], { env });
        nMs.push(t.ms);
      },
    });
    const vS = stats(vMs);
    const nS = stats(nMs);
    const startupRatio = ratioOf(vS.median, nS.median);
    rows.push(row({
      id: 'startup', figure: `start-up: --version vs node -e 0 (${startupRuns} runs)`, unit: 'ms',
      ccci: vS.median, ccciStats: vS, baseline: nS.median, baselineStats: nS, baselineLabel: 'node -e 0',
      ratio: startupRatio, ratioLabel: 'x node', target: '<= 2x node', met: startupRatio === null ? null : startupRatio <= 2,
    }));

    // 4. peak RSS of plan (whole catalogue); run's is taken in 5 --------------------------------------------
    say('4/6 peak RSS of plan');
    const rssHow = haveGnuTime() ? '/usr/bin/time %M' : '/proc/<pid>/status VmHWM polling';
    const rp = await timed(NODE, [BIN, 'plan', '--json'], { env, rss: true });
    expectExit(rp, [0, 1], 'ccci-sweep plan (RSS)');
    const planRss = rp.maxRssKb === null ? null : rp.maxRssKb / 1024;
    rows.push(row({
      id: 'rss.plan', figure: `peak RSS, plan ${N} recipes x ${o.tags} tags`, unit: 'MB',
      ccci: planRss, target: '< 150 MB', met: planRss === null ? null : planRss < 150,
      why: planRss === null ? { ccci: `no reading from ${rssHow}` } : {},
    }));

    // 5. driver overhead per harness launch -------------------------------------------------------------------
    const runRecipes = cat.recipes.filter((r) => r.kind !== 'never-released').slice(0, o.runRecipes).map((r) => r.name);
    const M = runRecipes.length;
    say(`5/6 run: ${M} recipes, every one decided run, stand-in cc-ci-run, --jobs ${o.jobs}, 0 ms latency, ${o.runs} runs`);
    const runCcci = buildCcciRepo(path.join(root, 'cc-ci-run'), runRecipes, sb, true);
    const standIn = path.join(HERE, 'stand-in-cc-ci-run.sh');
    const overhead: number[] = [];
    const gaps: number[] = [];
    const runRss: number[] = [];
    const runWall: number[] = [];
    let runNet: RequestCount | null = null;
    let runOutcomes: Record<string, number> | null = null;
    for (let r = 0; r < o.runs; r++) {
      const stateDir = path.join(root, `run-state-${r}`); // no canonical: every recipe decides run
      const launchLog = path.join(root, `launches-${r}.txt`);
      const t = await measured(fast, NODE, [BIN, 'run', '--json', '--jobs', String(o.jobs)], {
        ...env0, CCCI_REPO: runCcci, CCCI_STATE_DIR: stateDir, CCCI_RECIPES_DIR: cat.recipesDir,
        CCCI_UPSTREAM_URL: `${fast.url}/upstream/{recipe}.git`, CCCI_RUN: standIn, BENCH_HARNESS_LOG: launchLog,
      }, true);
      expectExit(t, [0, 1], 'ccci-sweep run');
      const doc = jsonOf<{ recipes: { outcome: string; detail?: string }[] }>(t, 'ccci-sweep run');
      runOutcomes = countBy(doc.recipes, (x) => x.outcome);
      if (t.code !== 0) warn(`ccci-sweep run exited ${t.code}: ${JSON.stringify(runOutcomes)} ${doc.recipes.find((x) => x.detail)?.detail ?? ''}`);
      const launches = existsSync(launchLog)
        ? readFileSync(launchLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
          const [, s, e] = l.split(' ');
          return { start: Number(s) * 1000, end: Number(e) * 1000 };
        }).sort((a, b) => a.start - b.start)
        : [];
      if (launches.length !== M) warn(`run: ${launches.length} harness launches for ${M} recipes`);
      if (launches.length > 0) {
        const inside = launches.reduce((a, l) => a + (l.end - l.start), 0);
        overhead.push((t.ms - inside) / launches.length);
        for (let i = 1; i < launches.length; i++) gaps.push(launches[i]!.start - launches[i - 1]!.end);
      }
      runWall.push(t.ms);
      if (t.maxRssKb !== null) runRss.push(t.maxRssKb / 1024);
      runNet = t.net;
    }
    const rn = runNet as RequestCount | null;
    const ovS = overhead.length ? stats(overhead) : null;
    const gapS = gaps.length ? stats(gaps) : null;
    const rssRun = runRss.length ? Math.max(...runRss) : null;
    details.run = { recipes: M, jobs: o.jobs, latencyMs: 0, outcomes: runOutcomes, wallMs: stats(runWall), requests: rn, rssHow };
    rows.push(row({
      id: 'rss.run', figure: `peak RSS, run ${M} recipes (jobs ${o.jobs})`, unit: 'MB',
      ccci: rssRun, target: '< 150 MB', met: rssRun === null ? null : rssRun < 150,
      why: rssRun === null ? { ccci: `no reading from ${rssHow}` } : {},
    }));
    rows.push(row({
      id: 'overhead.launch', figure: `run: driver overhead per launch (${M} recipes, jobs ${o.jobs}, 0 ms)`, unit: 'ms',
      ccci: ovS?.median ?? null, ccciStats: ovS ?? undefined, target: '< 30 ms', met: ovS ? ovS.median < 30 : null,
      why: ovS ? {} : { ccci: 'the stand-in cc-ci-run recorded no launch' },
      note: '(wall - time inside the harness) / launches; includes start-up, plan, fetch, checkout, gate, promote',
    }));
    rows.push(row({
      id: 'overhead.gap', figure: 'run: median gap between consecutive launches', unit: 'ms',
      ccci: o.jobs === 1 ? gapS?.median ?? null : null, ccciStats: o.jobs === 1 ? gapS ?? undefined : undefined,
      why: o.jobs !== 1 ? { ccci: 'only meaningful with --jobs 1' } : gapS ? {} : { ccci: 'fewer than two launches' },
      note: 'steady-state cost per recipe: restore, promote, next fetch, checkout, launch',
    }));
    const rtRun = rn ? rn.requests / M : null;
    rows.push(row({
      id: 'overhead.requests', figure: 'run: HTTP requests per launched recipe (plan + fetch)', unit: '',
      ccci: rtRun, note: rtRun === null ? undefined : `at ${L} ms each, ~${(rtRun * L).toFixed(0)} ms of waiting per recipe on top`,
    }));

    // 6. growth --------------------------------------------------------------------------------------------
    say(`6/6 growth: plan for N = ${o.growthRecipes.join(', ')}; tags T = ${o.growthTags.join(', ')}`);
    const growthDirs = new Map<number, string>();
    for (const n of o.growthRecipes) {
      const names = Array.from({ length: n }, (_, i) => recipeName(i));
      names.forEach((name, i) => ensureUpstream(cat, name, kindOf(i) === 'never-released' ? cat.unreleased : cat.released));
      growthDirs.set(n, buildCcciRepo(path.join(root, `cc-ci-growth-${n}`), names, sb));
    }
    const gMs = new Map<number, number[]>(o.growthRecipes.map((n) => [n, []]));
    const gRt = new Map<number, number>();
    // The catalogue's own size was measured in 1 already: those runs are reused.
    if (gMs.has(N) && pn) {
      gMs.set(N, [...planMs]);
      gRt.set(N, pn.requests / N);
    }
    for (let r = 0; r < o.runs; r++) {
      for (const n of o.growthRecipes) {
        if (n === 0 || (n === N && pn)) continue;
        const t = await measured(server, NODE, [BIN, 'plan', '--json'], { ...env, CCCI_REPO: growthDirs.get(n)! });
        expectExit(t, [0, 1], `ccci-sweep plan (${n} recipes)`);
        checkLatest(jsonOf<PlanDoc>(t, `plan (${n} recipes)`), `growth plan ${n} recipes`);
        gMs.get(n)!.push(t.ms);
        gRt.set(n, t.net.requests / n);
      }
    }
    const gSizes = o.growthRecipes.filter((n) => n > 0);
    const gMed = gSizes.map((n) => stats(gMs.get(n)!).median);
    for (const [i, n] of gSizes.entries()) {
      const s = stats(gMs.get(n)!);
      const fl = (n * (gRt.get(n) ?? 0) * L) / conc;
      rows.push(row({
        id: `growth.recipes.${n}`, figure: `growth: plan, ${n} recipes`, unit: 'ms', ccci: gMed[i]!, ccciStats: s,
        baseline: fl, baselineLabel: 'floor', ratio: ratioOf(s.median, fl), ratioLabel: 'x floor',
      }));
    }
    const fitN = gSizes.length >= 2 ? linearFit(gSizes, gMed) : null;
    const rtG = gRt.get(gSizes.at(-1) ?? 0) ?? rtPerRecipe ?? 0;
    const floorSlope = (rtG * L) / conc;
    const slopeRatio = fitN ? ratioOf(fitN.slope, floorSlope) : null;
    rows.push(row({
      id: 'growth.recipes.fit', figure: `growth: plan ms per extra recipe (fit R2 ${fitN?.r2.toFixed(3) ?? '-'})`, unit: 'ms',
      ccci: fitN?.slope ?? null, baseline: floorSlope, baselineLabel: 'floor slope',
      ratio: slopeRatio, ratioLabel: 'x floor', target: 'linear (R2 >= 0.95), <= 1.5x floor slope',
      met: fitN && slopeRatio !== null ? fitN.r2 >= 0.95 && slopeRatio <= 1.5 : null,
      why: fitN ? {} : { ccci: 'needs at least two --growth-recipes sizes', met: 'needs at least two --growth-recipes sizes' },
      note: fitN ? `fixed cost (intercept) ${fitN.intercept.toFixed(0)} ms` : undefined,
    }));
    details.growthRecipes = { sizes: gSizes, medians: gMed, requestsPerRecipe: Object.fromEntries(gRt), fit: fitN };

    // Tags: the CLI for one recipe with T tags (over HTTP), and classifyTags itself in-process.
    const tagsCcci = path.join(root, 'cc-ci-tags');
    const tSizes = o.growthTags.filter((t) => t > 0);
    const expected = new Map<number, string>();
    for (const T of tSizes) {
      const tpl = buildTemplate(cat.upstreamDir, `tags-${T}`, releaseTags(T), sb, { clone: false });
      expected.set(T, tpl.releases.at(-1)!);
    }
    buildCcciRepo(tagsCcci, tSizes.map((T) => `tags-${T}`), sb);
    const tMs = new Map<number, number[]>(tSizes.map((T) => [T, []]));
    for (let r = 0; r < o.runs; r++) {
      for (const T of tSizes) {
        const t = await measured(server, NODE, [BIN, 'plan', '--json', '--recipe', `tags-${T}`], { ...env, CCCI_REPO: tagsCcci });
        expectExit(t, [0, 1], `ccci-sweep plan (${T} tags)`);
        const latest = jsonOf<PlanDoc>(t, 'plan').recipes[0]?.latest;
        if (latest !== expected.get(T)) warn(`plan with ${T} tags chose ${latest}, expected ${expected.get(T)}`);
        tMs.get(T)!.push(t.ms);
      }
    }
    const order = new Map<number, Stats>();
    const tagNames = (T: number) => [...releaseTags(T), ...ODD_TAGS].sort(); // ls-remote lists refs by name
    for (const T of [...new Set([...tSizes, 10_000])].sort((a, b) => a - b)) {
      const names = tagNames(T);
      const newest = version.classifyTags(names).releases.at(-1)?.tag;
      if (newest !== releaseTags(T).at(-1)) warn(`classifyTags(${T}) chose ${newest}`);
      order.set(T, timeInProcess(() => version.classifyTags(names)));
    }
    for (const T of tSizes) {
      const s = stats(tMs.get(T)!);
      rows.push(row({ id: `growth.tags.cli.${T}`, figure: `growth: plan, 1 recipe with ${T} tags`, unit: 'ms', ccci: s.median, ccciStats: s }));
    }
    for (const T of tSizes) {
      const s = order.get(T)!;
      rows.push(row({ id: `growth.tags.order.${T}`, figure: `growth: classifyTags, ${T} tags (in-process)`, unit: 'ms', ccci: s.median, ccciStats: s }));
    }
    // Exponent of the ordering cost between the two largest sizes: T log T gives ~1.1 over 1000 -> 10000, T^2 gives 2.
    const big = tSizes.filter((T) => T >= 100).slice(-2);
    let exponent: number | null = null;
    let tlogt: number | null = null;
    if (big.length === 2) {
      const [a, b] = big as [number, number];
      exponent = Math.log(order.get(b)!.median / order.get(a)!.median) / Math.log(b / a);
      tlogt = Math.log((b * Math.log2(b)) / (a * Math.log2(a))) / Math.log(b / a);
    }
    rows.push(row({
      id: 'growth.tags.exponent', figure: `growth: ordering cost exponent, T ${big.join(' -> ') || '-'}`, unit: '',
      ccci: exponent, baseline: tlogt, baselineLabel: 'T log T', target: 'O(T log T): <= T log T + 0.2',
      met: exponent === null || tlogt === null ? null : exponent <= tlogt + 0.2,
      why: exponent === null ? { ccci: 'needs two --growth-tags sizes >= 100', met: 'needs two --growth-tags sizes >= 100' } : {},
    }));
    const o10k = order.get(10_000)!;
    rows.push(row({
      id: 'order.10000', figure: 'ordering 10 000 tags (classifyTags, in-process)', unit: 'ms',
      ccci: o10k.median, ccciStats: o10k, target: '< 50 ms', met: o10k.median < 50,
    }));
    if (tSizes.length >= 2) {
      const a = tSizes[0]!;
      const b = tSizes.at(-1)!;
      details.growthTags = {
        cliMarginalUsPerTag: ((stats(tMs.get(b)!).median - stats(tMs.get(a)!).median) * 1000) / (b - a),
      };
    }

    const config = {
      recipes: N, tags: o.tags, runs: o.runs, latencyMs: L, remoteJobs: conc, runRecipes: M, runJobs: o.jobs, syncJobs,
      growthRecipes: gSizes, growthTags: tSizes, startupRuns,
      node: process.version, cpus: cpus().length, git: (await timed('git', ['--version'], { env })).stdout.trim(),
      rss: rssHow, catalogueBuildMs: Math.round(cat.buildMs),
    };
    const doc = { bench: 'ccci-sweep', when: new Date().toISOString(), config, rows, details, warnings };
    return { doc, table: renderTable(rows, config, warnings) };
  } finally {
    for (const s of servers) await s.close();
    if (o.keep) say(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// output

function fmt(v: number | null, unit: string): string {
  if (v === null) return 'n/a';
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return `${v.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

function cell(v: number | null, s: Stats | undefined, unit: string): string {
  const main = fmt(v, unit);
  return s && s.samples.length > 1 ? `${main} [${fmt(s.min, '')}-${fmt(s.max, '')}]` : main;
}

function renderTable(rows: Row[], config: Record<string, unknown>, warnings: string[]): string {
  const header = ['figure', 'ccci-sweep [min-max]', 'baseline', 'ratio', 'target', 'met'];
  const lines = rows.map((r) => [
    r.figure,
    cell(r.ccci, r.ccciStats, r.unit),
    r.baseline === null ? '-' : `${r.baselineLabel}: ${cell(r.baseline, r.baselineStats, r.unit)}`,
    r.ratio === null ? '-' : `${r.ratio.toFixed(2)}${r.ratioLabel}`,
    r.target ?? '-',
    r.met === null ? (r.target ? 'n/a' : '') : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmtLine = (l: string[]) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [
    `ccci-sweep bench: ${config.recipes} recipes x ${config.tags} tags, ${config.latencyMs} ms per request, ` +
      `${config.runs} runs, ${config.cpus} CPUs, ${config.node}, ${config.git}`,
    fmtLine(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...lines.map(fmtLine),
  ];
  const notes = rows.filter((r) => r.note || r.why.ccci).map((r) => `  ${r.id}: ${[r.why.ccci, r.note].filter(Boolean).join('; ')}`);
  if (notes.length) out.push('', 'notes:', ...notes);
  if (warnings.length) out.push('', 'warnings:', ...warnings.map((w) => `  ${w}`));
  return `${out.join('\n')}\n`;
}

async function main(): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    const { doc, table } = await bench(o);
    const json = `${JSON.stringify(doc, null, 2)}\n`;
    if (o.out) writeFileSync(o.out, json);
    if (o.json) {
      process.stderr.write(table);
      process.stdout.write(json);
    } else process.stdout.write(table);
    return 0;
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof UsageError ? err.message : (err as Error).stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main();
