// Enrolment parsing (pure): a recipe is enrolled when its recipe_meta.py assigns `WARM_CANONICAL = True` at
// top level. We read only simple literal assignments and never execute Python, but read the text as Python
// does: a UTF-8 BOM is allowed, and nothing inside a string, a docstring, a comment or brackets counts.
import { UsageError } from './errors.js';

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

/**
 * Pure: the top-level simple statements of a Python source, comments removed, in order. A statement is
 * top level when it starts in column 0 outside any string or bracket; a logical line continued by a
 * backslash or an open bracket is one statement; `;` separates statements on one line. Strings (with any
 * prefix, single or triple quoted) are kept verbatim, so what they contain can never look like code.
 */
export function topLevelStatements(source: string): string[] {
  const src = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const out: string[] = [];
  let stmt = '';
  let indented = false;
  let atLineStart = true;
  let depth = 0;
  const end = () => {
    if (!indented && stmt.trim()) out.push(stmt.trim());
    stmt = '';
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (atLineStart && depth === 0 && stmt === '') {
      // A statement starts here: note whether it is indented, then read on from its first character.
      if (c === ' ' || c === '\t' || c === '\f') {
        indented = true;
        continue;
      }
      if (c === '\n') {
        indented = false;
        continue;
      }
      atLineStart = false;
    }
    if (c === '#') {
      while (i + 1 < src.length && src[i + 1] !== '\n') i++;
      continue;
    }
    if (c === '\\' && src[i + 1] === '\n') {
      stmt += ' ';
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const triple = src.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      let j = i + quote.length;
      while (j < src.length) {
        if (src[j] === '\\') j += 2;
        else if (src.startsWith(quote, j)) break;
        else if (!triple && src[j] === '\n') break; // unterminated: Python refuses it; do not read on
        else j++;
      }
      const stop = Math.min(src.length, src.startsWith(quote, j) ? j + quote.length : j);
      stmt += src.slice(i, stop);
      i = stop - 1;
      continue;
    }
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
    if (depth === 0 && (c === '\n' || c === ';')) {
      const wasIndented: boolean = indented;
      end();
      // After `;` the next statement is on the same line, with the same indentation.
      indented = c === ';' ? wasIndented : false;
      atLineStart = c === '\n';
      continue;
    }
    stmt += c;
  }
  end();
  return out;
}

/** Top-level `NAME = <literal>` assignments; the last one wins, as in Python. */
export function readLiterals(source: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const stmt of topLevelStatements(source)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=(?!=)\s*([\s\S]*?)\s*$/.exec(stmt);
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
