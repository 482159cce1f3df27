// Enrolment lives in the cc-ci repo, where operators already keep it: a recipe is enrolled when
// `<ccci-repo>/tests/<recipe>/recipe_meta.py` assigns `WARM_CANONICAL = True` at top level. We read only
// simple literal assignments; we never execute Python.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, UsageError } from './errors.js';

export type Cadence = 'nightly' | 'weekly';
export type CadenceFilter = Cadence | 'all';

export const RECIPE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export interface EnrolledRecipe {
  recipe: string;
  cadence: Cadence;
}

/** A recipe whose recipe_meta.py could not be read as enrolment; it is shown as an error, not dropped. */
export interface EnrolmentProblem {
  recipe: string;
  cadence: Cadence;
  problem: string;
}

export interface Enrolment {
  recipes: EnrolledRecipe[];
  problems: EnrolmentProblem[];
}

export function assertRecipeName(name: string): void {
  if (!RECIPE_NAME.test(name)) {
    throw new UsageError(`recipe name ${JSON.stringify(name)} is invalid: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit`);
  }
}

/** Top-level `NAME = <literal>` assignments; the last one wins, as in Python. */
export function readLiterals(source: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of source.split(/\r?\n/)) {
    const m = /^([A-Z_][A-Z0-9_]*)\s*(?::[^=]*)?=\s*(.*?)\s*(?:#.*)?$/.exec(line);
    if (m?.[1] && m[2] !== undefined) out.set(m[1], m[2]);
  }
  return out;
}

function pyString(value: string): string | null {
  const m = /^(['"])([^'"\\]*)\1$/.exec(value);
  return m?.[2] ?? null;
}

/** Pure: what one recipe_meta.py says. null = not enrolled. */
export function parseRecipeMeta(recipe: string, source: string): EnrolledRecipe | EnrolmentProblem | null {
  const vars = readLiterals(source);
  const rawCadence = vars.get('SWEEP_CADENCE');
  let cadence: Cadence = 'weekly';
  let cadenceProblem: string | null = null;
  if (rawCadence !== undefined) {
    const c = pyString(rawCadence);
    if (c === 'nightly' || c === 'weekly') cadence = c;
    else cadenceProblem = `SWEEP_CADENCE must be "nightly" or "weekly", found ${rawCadence}`;
  }
  const warm = vars.get('WARM_CANONICAL');
  if (warm === undefined || warm === 'False') return null;
  if (warm !== 'True') return { recipe, cadence, problem: `WARM_CANONICAL must be the literal True or False, found ${warm}` };
  if (cadenceProblem) return { recipe, cadence, problem: cadenceProblem };
  return { recipe, cadence };
}

/** Reads `<ccciRepo>/tests/*`/recipe_meta.py. A missing repo or tests folder is a ConfigError. */
export function readEnrolment(ccciRepo: string): Enrolment {
  const testsDir = path.join(ccciRepo, 'tests');
  if (!isDir(ccciRepo)) {
    throw new ConfigError(`cc-ci repo ${ccciRepo} does not exist: set --ccci-repo, CCCI_REPO or [sweep] ccci-repo`);
  }
  if (!isDir(testsDir)) {
    throw new ConfigError(`cc-ci repo ${ccciRepo} has no tests/ folder: is --ccci-repo pointing at the cc-ci checkout?`);
  }
  const recipes: EnrolledRecipe[] = [];
  const problems: EnrolmentProblem[] = [];
  for (const name of readdirSync(testsDir).sort()) {
    if (name.startsWith('_') || !RECIPE_NAME.test(name)) continue;
    const meta = path.join(testsDir, name, 'recipe_meta.py');
    let source: string;
    try {
      source = readFileSync(meta, 'utf8');
    } catch {
      continue; // a folder without recipe_meta.py is not a recipe test
    }
    const parsed = parseRecipeMeta(name, source);
    if (!parsed) continue;
    if ('problem' in parsed) problems.push(parsed);
    else recipes.push(parsed);
  }
  return { recipes, problems };
}

/**
 * Narrows enrolment to the requested recipes and cadence. Unknown recipe names are a UsageError; an empty
 * result is a ConfigError naming the path, so a misconfigured host can never sweep nothing and exit 0.
 */
export function selectRecipes(
  enrolment: Enrolment,
  ccciRepo: string,
  wanted: string[],
  cadence: CadenceFilter,
): Enrolment {
  wanted.forEach(assertRecipeName);
  const known = new Map<string, EnrolledRecipe | EnrolmentProblem>();
  for (const r of [...enrolment.recipes, ...enrolment.problems]) known.set(r.recipe, r);
  for (const name of wanted) {
    if (!known.has(name)) {
      throw new UsageError(`recipe ${name} is not enrolled: ${path.join(ccciRepo, 'tests', name, 'recipe_meta.py')} must set WARM_CANONICAL = True`);
    }
  }
  const keep = (r: { recipe: string; cadence: Cadence }) =>
    (wanted.length === 0 || wanted.includes(r.recipe)) && (cadence === 'all' || r.cadence === cadence);
  const out = { recipes: enrolment.recipes.filter(keep), problems: enrolment.problems.filter(keep) };
  if (out.recipes.length + out.problems.length === 0) {
    const what = cadence === 'all' ? '' : ` with cadence ${cadence}`;
    throw new ConfigError(`no enrolled recipes${what} under ${path.join(ccciRepo, 'tests')}: check --ccci-repo and WARM_CANONICAL in recipe_meta.py`);
  }
  return out;
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
