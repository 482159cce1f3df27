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
        // Python ignores a form feed for indentation (it resets the column): only spaces/tabs after it count.
        indented = c !== '\f';
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

/** A value the sweep cannot determine without running Python (augmented assignment, unpacking...). */
export const UNDETERMINED = '\u0000undetermined';

/** The names enrolment reads; any other name's assignments are not looked at closely. */
const WATCHED = ['WARM_CANONICAL', 'SWEEP_CADENCE'];

const STRING_LITERAL = /[rRbBuUfF]{0,2}("""(?:\\[\s\S]|[^\\])*?"""|'''(?:\\[\s\S]|[^\\])*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Whitespace Python does not accept outside strings and comments (a syntax error there).
const NON_ASCII_SPACE = /[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/** Splits `text` at top-level occurrences of `sep` (outside strings and brackets); `=` excludes ==, <=, >=, !=. */
function splitTop(text: string, sep: ',' | '='): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      STRING_LITERAL.lastIndex = i;
      const m = STRING_LITERAL.exec(text);
      if (m && m.index === i) i += m[0].length - 1;
      continue;
    }
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0 && c === sep) {
      if (sep === '=' && ('=!<>'.includes(text[i - 1] ?? '') || text[i + 1] === '=')) {
        if (text[i + 1] === '=') i++;
        continue;
      }
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts.map((p) => p.trim());
}

/** `(a, b)`, `[a, b]` or `a, b` as its elements; a single item as itself. */
function elements(text: string): string[] {
  const t = text.trim();
  const inner = /^[([][\s\S]*[)\]]$/.test(t) && splitTop(t, ',').length === 1 ? t.slice(1, -1) : t;
  const items = splitTop(inner, ',');
  if (items.length > 1 && items.at(-1) === '') items.pop(); // a trailing comma
  return items;
}

/**
 * Top-level assignments, as Python would leave them: the last one wins; chained (`A = B = True`) and tuple
 * (`A, B = True, "nightly"`) assignments of literals are read; what cannot be read without running Python
 * (an augmented `|=`, unpacking a non-literal, a `del`, an import under that name, a compound one-liner
 * assigning it) makes a watched name UNDETERMINED, never a guess.
 */
export function readLiterals(source: string): Map<string, string> {
  const out = new Map<string, string>();
  const undetermined = (code: string) => {
    for (const n of WATCHED) if (new RegExp(`\\b${n}\\b`).test(code)) out.set(n, UNDETERMINED);
  };
  for (const stmt of topLevelStatements(source)) {
    const code = stmt.replace(STRING_LITERAL, '""');
    if (NON_ASCII_SPACE.test(code)) {
      // JavaScript's \s would read `WARM_CANONICAL\u00a0= True` as an assignment; Python refuses the file.
      for (const n of WATCHED) if (code.includes(n)) out.set(n, `${UNDETERMINED}: a non-ASCII space outside a string, which Python refuses`);
      continue;
    }
    if (/^[A-Za-z_][A-Za-z0-9_]*\s*(\*\*|\/\/|>>|<<|[-+*/%@&|^])=/.test(code)) {
      undetermined(code.slice(0, code.search(/[^A-Za-z0-9_]/)));
      continue;
    }
    const parts = splitTop(stmt, '=');
    if (parts.length < 2) {
      // Not an assignment statement: it may still bind a watched name (del, import ... as, if x: NAME = ...).
      if (/^(del|import|from|if|for|while|with|try|class|def|global|nonlocal|match)\b/.test(code)) undetermined(code);
      continue;
    }
    const value = parts.at(-1)!;
    for (const rawTarget of parts.slice(0, -1)) {
      // An annotated single target: `NAME: type = value`.
      const target = /^[A-Za-z_][A-Za-z0-9_]*\s*:/.test(rawTarget) ? rawTarget.slice(0, rawTarget.indexOf(':')).trim() : rawTarget;
      if (NAME.test(target)) {
        out.set(target, value);
        continue;
      }
      const names = elements(target);
      const values = elements(value);
      if (names.length > 1 && names.every((n) => NAME.test(n)) && values.length === names.length) {
        names.forEach((n, i) => out.set(n, values[i]!));
      } else {
        undetermined(target.replace(STRING_LITERAL, '""'));
      }
    }
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
  if (rawCadence?.startsWith(UNDETERMINED)) {
    cadenceProblem = `SWEEP_CADENCE is not a literal the sweep can read${undeterminedWhy(rawCadence)}; assign it "nightly" or "weekly" plainly`;
  } else if (rawCadence !== undefined) {
    const c = pyString(rawCadence);
    if (c === 'nightly' || c === 'weekly') cadence = c;
    else cadenceProblem = `SWEEP_CADENCE must be "nightly" or "weekly", found ${rawCadence}`;
  }
  const warm = vars.get('WARM_CANONICAL');
  if (warm?.startsWith(UNDETERMINED)) {
    return { recipe, cadence, problem: `WARM_CANONICAL is not a literal the sweep can read${undeterminedWhy(warm)}; assign it True or False plainly` };
  }
  if (warm === undefined || warm === 'False') return null;
  if (warm !== 'True') return { recipe, cadence, problem: `WARM_CANONICAL must be the literal True or False, found ${warm}` };
  if (cadenceProblem) return { recipe, cadence, problem: cadenceProblem };
  return { recipe, cadence };
}

function undeterminedWhy(v: string): string {
  const why = v.slice(UNDETERMINED.length).replace(/^: /, '');
  return why ? ` (${why})` : '';
}
