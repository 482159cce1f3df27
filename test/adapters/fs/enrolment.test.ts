import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { enrolmentEntry, readEnrolment, selectRecipes } from '../../../src/adapters/fs/enrolment-files.js';
import { parseRecipeMeta } from '../../../src/core/enrolment.js';

describe('parseRecipeMeta', () => {
  it('enrols on a top-level WARM_CANONICAL = True, weekly by default', () => {
    expect(parseRecipeMeta('gitea', 'WARM_CANONICAL = True  # warm\n')).toEqual({ recipe: 'gitea', cadence: 'weekly' });
    expect(parseRecipeMeta('gitea', "WARM_CANONICAL: bool = True\nSWEEP_CADENCE = 'nightly'\n")).toEqual({ recipe: 'gitea', cadence: 'nightly' });
  });

  it('does not enrol on False, on a missing flag, or on an indented (non top-level) assignment', () => {
    expect(parseRecipeMeta('a', 'WARM_CANONICAL = False\n')).toBeNull();
    expect(parseRecipeMeta('a', 'OTHER = 1\n')).toBeNull();
    expect(parseRecipeMeta('a', 'if x:\n    WARM_CANONICAL = True\n')).toBeNull();
  });

  it('reports a WARM_CANONICAL that is not a literal bool, and a bad cadence', () => {
    expect(parseRecipeMeta('a', 'WARM_CANONICAL = os.environ.get("W")\n')).toMatchObject({ problem: expect.stringMatching(/literal True or False/) });
    expect(parseRecipeMeta('a', 'WARM_CANONICAL = "True"\n')).toMatchObject({ problem: expect.any(String) });
    expect(parseRecipeMeta('a', 'WARM_CANONICAL = True\nSWEEP_CADENCE = "daily"\n')).toMatchObject({ problem: expect.stringMatching(/SWEEP_CADENCE/) });
  });
});

describe('recipe_meta.py is read as Python reads it', () => {
  it('enrols a file that starts with a UTF-8 BOM, and one with CRLF or CR line ends', () => {
    expect(parseRecipeMeta('a', '\uFEFFWARM_CANONICAL = True\n')).toEqual({ recipe: 'a', cadence: 'weekly' });
    expect(enrolmentEntry('a', Buffer.from('\uFEFFWARM_CANONICAL = True\r\nSWEEP_CADENCE = "nightly"\r\n'), 'f')).toEqual({ recipe: 'a', cadence: 'nightly' });
    expect(parseRecipeMeta('a', 'X = 1\rWARM_CANONICAL = True\r')).toEqual({ recipe: 'a', cadence: 'weekly' });
  });

  it.each([
    ['a docstring', '"""Recipe tests.\n\nWARM_CANONICAL = True\n"""\n'],
    ["a single-quoted docstring", "'''\nWARM_CANONICAL = True\n'''\n"],
    ['a raw docstring', 'r"""\nWARM_CANONICAL = True\n"""\n'],
    ['a docstring with an escaped quote', '"""a \\""" quote\nWARM_CANONICAL = True\n"""\n'],
    ['a comment', '# WARM_CANONICAL = True\n'],
    ['an indented comment', 'X = 1\n    # WARM_CANONICAL = True\n'],
    ['a string assigned to something else', 'DOC = """\nWARM_CANONICAL = True\n"""\n'],
    ['a multi-line bracket', 'ITEMS = [\n  1,\nWARM_CANONICAL = True\n]\n'],
    ['a function body', 'def f():\n    WARM_CANONICAL = True\n'],
    ['an if block', 'if False:\n    WARM_CANONICAL = True\n'],
    ['a continued comparison', 'x = 1 == \\\nWARM_CANONICAL == True\n'],
  ])('does not enrol on WARM_CANONICAL = True inside %s', (_what, source) => {
    expect(parseRecipeMeta('a', source)).toBeNull();
  });

  it('reads assignments around docstrings, comments, semicolons and continuation lines', () => {
    expect(parseRecipeMeta('a', '"""Docs: WARM_CANONICAL = False"""\nWARM_CANONICAL = True  # "quoted" comment\n')).toEqual({ recipe: 'a', cadence: 'weekly' });
    expect(parseRecipeMeta('a', 'X = 1; WARM_CANONICAL = True\n')).toEqual({ recipe: 'a', cadence: 'weekly' });
    expect(parseRecipeMeta('a', 'WARM_CANONICAL = \\\n    True\n')).toEqual({ recipe: 'a', cadence: 'weekly' });
    expect(parseRecipeMeta('a', "SWEEP_CADENCE = 'nightly'  # '#' is fine\nWARM_CANONICAL = True\nWARM_CANONICAL = False\n")).toBeNull();
    expect(parseRecipeMeta('a', 'WARM_CANONICAL = True\nSWEEP_CADENCE = "nightly" # x\n')).toEqual({ recipe: 'a', cadence: 'nightly' });
  });

  it('shows a folder that would enrol under an invalid recipe name, and a file that is not UTF-8, as problems', () => {
    expect(enrolmentEntry('Gitea', Buffer.from('WARM_CANONICAL = True\n'), 'f')).toMatchObject({
      recipe: 'Gitea', cadence: 'weekly', problem: expect.stringMatching(/^tests\/Gitea enrols a recipe, but "Gitea" is not a valid recipe name .*rename the folder/),
    });
    expect(enrolmentEntry('Gitea', Buffer.from('WARM_CANONICAL = False\n'), 'f')).toBeNull();
    const latin1 = Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\nWARM_CANONICAL = True\n')]);
    expect(enrolmentEntry('gitea', latin1, '/c/tests/gitea/recipe_meta.py')).toMatchObject({ problem: '/c/tests/gitea/recipe_meta.py is not valid UTF-8, so Python cannot read it: save it as UTF-8' });
  });
});

describe('assignments Python reads differently from a regular expression', () => {
  it.each([
    ['a chained assignment', 'A = WARM_CANONICAL = True\n', { recipe: 'r', cadence: 'weekly' }],
    ['a tuple assignment', 'WARM_CANONICAL, SWEEP_CADENCE = True, "nightly"\n', { recipe: 'r', cadence: 'nightly' }],
    ['a parenthesised tuple', '(WARM_CANONICAL, SWEEP_CADENCE) = (True, "nightly")\n', { recipe: 'r', cadence: 'nightly' }],
    ['a leading form feed (not indentation)', '\fWARM_CANONICAL = True\n', { recipe: 'r', cadence: 'weekly' }],
    ['a plain assignment after an augmented one', 'WARM_CANONICAL |= True\nWARM_CANONICAL = True\n', { recipe: 'r', cadence: 'weekly' }],
    ['an annotated assignment', 'WARM_CANONICAL: bool = True\n', { recipe: 'r', cadence: 'weekly' }],
    ['a comparison, not an assignment', 'X = WARM_CANONICAL == True\n', null],
    ['"=" inside a string', 'NOTE = "WARM_CANONICAL = True"\n', null],
  ])('reads %s', (_what, text, want) => {
    expect(parseRecipeMeta('r', text)).toEqual(want);
  });

  it.each([
    ['an augmented assignment after False', 'WARM_CANONICAL = False\nWARM_CANONICAL |= True\n', /WARM_CANONICAL is not a literal the sweep can read/],
    ['unpacking a call', 'WARM_CANONICAL, B = f()\n', /WARM_CANONICAL is not a literal/],
    ['a compound one-liner', 'if x: WARM_CANONICAL = True\n', /WARM_CANONICAL is not a literal/],
    ['a no-break space (a syntax error in Python)', 'WARM_CANONICAL\u00a0= True\n', /non-ASCII space outside a string, which Python refuses/],
    ['an augmented cadence', 'WARM_CANONICAL = True\nSWEEP_CADENCE += "ly"\n', /SWEEP_CADENCE is not a literal/],
  ])('reports %s as a problem, not a guess', (_what, text, why) => {
    const got = parseRecipeMeta('r', text);
    expect(got && 'problem' in got ? got.problem : got).toMatch(why);
  });

  it('shows a dangling recipe_meta.py symlink as a problem', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ccci-enrol-'));
    mkdirSync(path.join(root, 'tests', 'gitea'), { recursive: true });
    symlinkSync(path.join(root, 'nowhere.py'), path.join(root, 'tests', 'gitea', 'recipe_meta.py'));
    expect(readEnrolment(root).problems).toEqual([{ recipe: 'gitea', cadence: 'weekly', problem: expect.stringMatching(/^cannot read .*recipe_meta\.py: ENOENT/) }]);
    rmSync(root, { recursive: true, force: true });
  });
});

describe('readEnrolment and selectRecipes', () => {
  const repo = () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ccci-enrol-'));
    const meta = (name: string, text: string) => {
      mkdirSync(path.join(root, 'tests', name), { recursive: true });
      writeFileSync(path.join(root, 'tests', name, 'recipe_meta.py'), text);
    };
    meta('gitea', 'WARM_CANONICAL = True\nSWEEP_CADENCE = "nightly"\n');
    meta('nextcloud', 'WARM_CANONICAL = True\n');
    meta('_shared', 'WARM_CANONICAL = True\n');
    meta('Bad Name', 'WARM_CANONICAL = True\n');
    meta('cold', 'WARM_CANONICAL = False\n');
    mkdirSync(path.join(root, 'tests', 'nometa'));
    return root;
  };

  it('finds enrolled recipes, skipping _folders and folders without recipe_meta.py, and shows an invalid name as a problem', () => {
    const e = readEnrolment(repo());
    expect(e.recipes).toEqual([
      { recipe: 'gitea', cadence: 'nightly' },
      { recipe: 'nextcloud', cadence: 'weekly' },
    ]);
    expect(e.problems).toEqual([{ recipe: 'Bad Name', cadence: 'weekly', problem: expect.stringMatching(/"Bad Name" is not a valid recipe name/) }]);
  });

  it('filters by recipe and cadence, and refuses empty or unknown selections', () => {
    const root = repo();
    const e = readEnrolment(root);
    expect(selectRecipes(e, root, [], 'weekly').recipes.map((r) => r.recipe)).toEqual(['nextcloud']);
    expect(selectRecipes(e, root, ['gitea'], 'all').recipes.map((r) => r.recipe)).toEqual(['gitea']);
    expect(() => selectRecipes(e, root, ['gitea'], 'weekly')).toThrow(/no enrolled recipes with cadence weekly/);
    expect(() => selectRecipes(e, root, ['cold'], 'all')).toThrow(/recipe cold is not enrolled/);
    expect(() => selectRecipes(e, root, ['-rf'], 'all')).toThrow(/is invalid/);
  });
});

describe('enrolment through the CLI', () => {
  it('enrols a recipe_meta.py with a BOM, not one that says True only in a docstring, and shows an invalid folder name', async () => {
    const { cliJson, sandbox } = await import('../../support/cli.js');
    const sb = await sandbox([{ name: 'bom', releases: [{ tag: '1.0.0' }] }, { name: 'doc', releases: [{ tag: '1.0.0' }] }]);
    const meta = (name: string) => path.join(sb.ccciRepo, 'tests', name, 'recipe_meta.py');
    writeFileSync(meta('bom'), '\uFEFFWARM_CANONICAL = True\r\n');
    writeFileSync(meta('doc'), '"""Set\nWARM_CANONICAL = True\nto enrol."""\nWARM_CANONICAL = False\n');
    mkdirSync(path.join(sb.ccciRepo, 'tests', 'Gitea'));
    writeFileSync(meta('Gitea'), 'WARM_CANONICAL = True\n');
    // Enrolled as Python reads them (tuple, form feed), or shown as problems (augmented, a no-break space, a dangling symlink).
    for (const [name, text] of [['tuple', 'WARM_CANONICAL, SWEEP_CADENCE = True, "nightly"\n'], ['ff', '\fWARM_CANONICAL = True\n'],
      ['aug', 'WARM_CANONICAL = False\nWARM_CANONICAL |= True\n'], ['nbsp', 'WARM_CANONICAL\u00a0= True\n']]) {
      mkdirSync(path.join(sb.ccciRepo, 'tests', name!));
      writeFileSync(meta(name!), text!);
    }
    mkdirSync(path.join(sb.ccciRepo, 'tests', 'dangling'));
    symlinkSync(path.join(sb.root, 'nowhere.py'), meta('dangling'));

    const plan = await cliJson(sb, ['plan', '--offline']);
    expect(plan.r.exitCode).toBe(1);
    expect(plan.doc.recipes.map((x: any) => [x.recipe, x.decision, x.reason])).toEqual([
      ['Gitea', 'error', 'enrolment-invalid'], ['aug', 'error', 'enrolment-invalid'], ['bom', 'error', 'tags-unavailable'],
      ['dangling', 'error', 'enrolment-invalid'], ['ff', 'error', 'tags-unavailable'], ['nbsp', 'error', 'enrolment-invalid'],
      ['tuple', 'error', 'tags-unavailable'],
    ]);
    expect(plan.doc.recipes[0].error).toMatch(/tests\/Gitea enrols a recipe, but "Gitea" is not a valid recipe name/);
    const status = await cliJson(sb, ['status']);
    expect(status.r.exitCode).toBe(1);
    expect(status.doc.recipes.map((x: any) => [x.recipe, x.error ?? null])).toEqual([
      ['Gitea', expect.stringMatching(/not a valid recipe name/)], ['aug', expect.stringMatching(/WARM_CANONICAL is not a literal/)], ['bom', null],
      ['dangling', expect.stringMatching(/cannot read/)], ['ff', null], ['nbsp', expect.stringMatching(/non-ASCII space/)], ['tuple', null],
    ]);
  });
});
