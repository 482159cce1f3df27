// Enrolment lives in the cc-ci repo, where operators already keep it: `<ccci-repo>/tests/<recipe>/
// recipe_meta.py`. This reads those files (parsing is src/core/enrolment.ts) and selects recipes.
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { readRegularFile } from './read-file.js';
import path from 'node:path';
import { ConfigError, UsageError } from '../../core/errors.js';
import { assertRecipeName, type Cadence, type CadenceFilter, type EnrolledRecipe, type Enrolment, type EnrolmentProblem, parseRecipeMeta, RECIPE_NAME } from '../../core/enrolment.js';

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
    // `_shared`, `__pycache__` and hidden folders are the harness's own, never recipes.
    if (name.startsWith('_') || name.startsWith('.')) continue;
    const meta = path.join(testsDir, name, 'recipe_meta.py');
    let bytes: Buffer;
    try {
      bytes = readRegularFile(meta, { follow: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // No recipe_meta.py: not a recipe test. A symlink to nothing is a file the operator meant: a problem.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && !isSymlink(meta)) continue;
      problems.push({ recipe: name, cadence: 'weekly', problem: `cannot read ${meta}: ${(err as Error).message}` });
      continue;
    }
    const entry = enrolmentEntry(name, bytes, meta);
    if (!entry) continue;
    if ('problem' in entry) problems.push(entry);
    else recipes.push(entry);
  }
  return { recipes, problems };
}

/**
 * Pure: what one `tests/<name>/recipe_meta.py` (its raw bytes) means for enrolment. A folder that would
 * enrol but whose name is not a valid recipe name, or a file Python could not read (not UTF-8), is a
 * problem shown by plan and status, never a silent skip.
 */
export function enrolmentEntry(name: string, bytes: Uint8Array, where: string): EnrolledRecipe | EnrolmentProblem | null {
  let source: string;
  let notUtf8 = false;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    source = new TextDecoder('utf-8').decode(bytes);
    notUtf8 = true;
  }
  const parsed = parseRecipeMeta(name, source);
  if (!parsed) return null;
  if (!RECIPE_NAME.test(name)) {
    return {
      recipe: name, cadence: parsed.cadence,
      problem: `tests/${name} enrols a recipe, but ${JSON.stringify(name)} is not a valid recipe name (lower-case letters, digits, '.', '_' and '-', starting with a letter or digit): rename the folder to the recipe's name`,
    };
  }
  if (notUtf8) return { recipe: name, cadence: parsed.cadence, problem: `${where} is not valid UTF-8, so Python cannot read it: save it as UTF-8` };
  return parsed;
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

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
