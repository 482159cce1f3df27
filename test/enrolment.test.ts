import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRecipeMeta, readEnrolment, selectRecipes } from '../src/enrolment.js';

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

  it('finds enrolled recipes, skipping _folders, invalid names and folders without recipe_meta.py', () => {
    expect(readEnrolment(repo()).recipes).toEqual([
      { recipe: 'gitea', cadence: 'nightly' },
      { recipe: 'nextcloud', cadence: 'weekly' },
    ]);
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
