import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettings, resolveConfig, urlFor } from '../src/config.js';

describe('resolveConfig', () => {
  it('takes flag over env over settings over default', () => {
    const env = { CCCI_STATE_DIR: '/env/state', CCCI_REPO: '/env/ccci', HOME: '/home/op' };
    const settings = { stateDir: '/settings/state', ccciRepo: '/settings/ccci', recipesDir: '/settings/recipes' };
    const c = resolveConfig({ stateDir: '/flag/state' }, env, settings);
    expect(c.stateDir).toBe('/flag/state');
    expect(c.ccciRepo).toBe('/env/ccci');
    expect(c.recipesDir).toBe('/settings/recipes');
    expect(c.harnessScript).toBe('runner/run_recipe_ci.py');
    expect(c.mirrorUrl).toBeUndefined();
  });

  it('derives recipes-dir from ABRA_DIR, else ~/.abra/recipes', () => {
    expect(resolveConfig({}, { ABRA_DIR: '/srv/abra', HOME: '/h' }, {}).recipesDir).toBe('/srv/abra/recipes');
    expect(resolveConfig({}, { HOME: '/h' }, {}).recipesDir).toBe('/h/.abra/recipes');
  });

  it('defaults the mirror token file to the systemd credential when there is one', () => {
    expect(resolveConfig({}, { CREDENTIALS_DIRECTORY: '/run/credentials/x' }, {}).mirrorTokenFile).toBe('/run/credentials/x/mirror-token');
    expect(resolveConfig({}, {}, {}).mirrorTokenFile).toBeUndefined();
  });

  it('fills {recipe} in URL templates', () => {
    expect(urlFor('https://git.example/coop-cloud/{recipe}.git', 'gitea')).toBe('https://git.example/coop-cloud/gitea.git');
  });
});

describe('readSettings', () => {
  const file = (text: string) => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'ccci-settings-')), 'settings.toml');
    writeFileSync(f, text);
    return f;
  };

  it('reads kebab- and snake_case keys of [sweep] and ignores other tables and keys', () => {
    const f = file('[drone]\nx = 1\n[sweep]\nstate-dir = "/a"\nccci_repo = "/b"\nsomething_else = 3\n');
    expect(readSettings(f)).toEqual({ stateDir: '/a', ccciRepo: '/b' });
  });

  it('treats an absent file as empty and a malformed one as a ConfigError', () => {
    expect(readSettings('/nonexistent/settings.toml')).toEqual({});
    expect(() => readSettings(file('[sweep'))).toThrow(/not valid TOML/);
    expect(() => readSettings(file('[sweep]\nstate-dir = 3\n'))).toThrow(/state-dir must be a string/);
  });
});
