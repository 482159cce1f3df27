import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { editDistance, type Settings, urlFor } from '../../../src/core/config.js';
import { parseSettings, readSettings, resolveConfig } from '../../../src/adapters/fs/settings.js';

const settings = (values: Settings['values'], file = '/etc/cc-ci/settings.toml'): Settings => ({ file, values, warnings: [] });

describe('resolveConfig', () => {
  it('takes flag over env over settings over default', () => {
    const env = { CCCI_STATE_DIR: '/env/state', CCCI_REPO: '/env/ccci', HOME: '/home/op' };
    const s = settings({ stateDir: '/settings/state', ccciRepo: '/settings/ccci', recipesDir: '/settings/recipes' });
    const c = resolveConfig({ stateDir: '/flag/state' }, env, s, '/cwd');
    expect(c.stateDir).toBe('/flag/state');
    expect(c.ccciRepo).toBe('/env/ccci');
    expect(c.recipesDir).toBe('/settings/recipes');
    expect(c.harnessScript).toBe('runner/run_recipe_ci.py');
    expect(c.mirrorUrl).toBeUndefined();
  });

  it('derives recipes-dir from ABRA_DIR, else ~/.abra/recipes', () => {
    expect(resolveConfig({}, { ABRA_DIR: '/srv/abra', HOME: '/h' }, null, '/').recipesDir).toBe('/srv/abra/recipes');
    expect(resolveConfig({}, { HOME: '/h' }, null, '/').recipesDir).toBe('/h/.abra/recipes');
  });

  it('defaults the mirror token file to the systemd credential when there is one', () => {
    expect(resolveConfig({}, { CREDENTIALS_DIRECTORY: '/run/credentials/x' }, null, '/').mirrorTokenFile).toBe('/run/credentials/x/mirror-token');
    expect(resolveConfig({}, {}, null, '/').mirrorTokenFile).toBeUndefined();
  });

  it('resolves relative flags and env against the working directory, relative settings against the settings file folder', () => {
    const s = settings({ stateDir: 'state', recipesDir: '../abra/recipes', ccciRun: 'bin/cc-ci-run', mirrorTokenFile: 'token' }, '/etc/cc-ci/settings.toml');
    const c = resolveConfig({ ccciRepo: 'cc-ci' }, { CCCI_UPSTREAM_URL: 'file:///u/{recipe}.git' }, s, '/home/op');
    expect(c).toMatchObject({
      ccciRepo: '/home/op/cc-ci', stateDir: '/etc/cc-ci/state', recipesDir: '/etc/abra/recipes', ccciRun: '/etc/cc-ci/bin/cc-ci-run',
      mirrorTokenFile: '/etc/cc-ci/token', harnessScript: 'runner/run_recipe_ci.py', upstreamUrl: 'file:///u/{recipe}.git',
    });
    expect(resolveConfig({ ccciRun: 'cc-ci-run' }, { CCCI_STATE_DIR: 'st' }, null, '/w')).toMatchObject({ ccciRun: 'cc-ci-run', stateDir: '/w/st' });
    // A settings file named relatively is itself found from the working directory.
    expect(resolveConfig({}, {}, settings({ stateDir: 'state' }, 'conf/settings.toml'), '/w').stateDir).toBe('/w/conf/state');
  });

  it.each([
    ['stateDir', '--state-dir'], ['ccciRepo', '--ccci-repo'], ['recipesDir', '--recipes-dir'], ['ccciRun', '--cc-ci-run'],
    ['harnessScript', '--harness-script'], ['seedScript', '--seed-script'], ['upstreamUrl', '--upstream-url'],
    ['mirrorUrl', '--mirror-url'], ['giteaApi', '--gitea-api'], ['mirrorTokenFile', '--mirror-token-file'],
  ])('refuses an empty %s flag', (key, flag) => {
    expect(() => resolveConfig({ [key]: '' }, {}, null, '/')).toThrow(`${flag} is empty`);
    expect(() => resolveConfig({ [key]: '  ' }, {}, null, '/')).toThrow(`${flag} is empty`);
  });

  it('refuses a path starting with ~, which nothing expands', () => {
    expect(() => resolveConfig({ stateDir: '~/state' }, {}, null, '/')).toThrow('--state-dir (~/state) starts with ~, which is not expanded here; write the full path');
    expect(() => resolveConfig({}, {}, settings({ recipesDir: '~' }, '/s.toml'), '/')).toThrow(/\[sweep\] recipes-dir \(~\) starts with ~/);
    expect(resolveConfig({ stateDir: '/srv/~state' }, {}, null, '/').stateDir).toBe('/srv/~state');
  });

  it('treats an empty environment variable as unset', () => {
    expect(resolveConfig({}, { CCCI_STATE_DIR: '' }, null, '/w').stateDir).toBe('/var/lib/ci-warm');
  });

  it('requires {recipe} in both URL templates, wherever they come from', () => {
    expect(() => resolveConfig({ upstreamUrl: 'https://git.example/coop-cloud/gitea.git' }, {}, null, '/'))
      .toThrow('--upstream-url (https://git.example/coop-cloud/gitea.git) has no {recipe}');
    expect(() => resolveConfig({}, { CCCI_MIRROR_URL: 'https://m.example/x.git' }, null, '/')).toThrow(/^CCCI_MIRROR_URL .* has no \{recipe\}/);
    expect(() => resolveConfig({}, {}, settings({ mirrorUrl: 'https://m.example/x.git' }, '/s.toml'), '/'))
      .toThrow(/^settings file \/s\.toml: \[sweep\] mirror-url .* has no \{recipe\}/);
  });

  it('fills {recipe} in URL templates', () => {
    expect(urlFor('https://git.example/coop-cloud/{recipe}.git', 'gitea')).toBe('https://git.example/coop-cloud/gitea.git');
  });
});

describe('parseSettings', () => {
  it('reads kebab- and snake_case keys of [sweep] and ignores other tables and far-off keys', () => {
    expect(parseSettings('[drone]\nx = 1\n[sweep]\nstate-dir = "/a"\nccci_repo = "/b"\nsomething_else = 3\n', 'f'))
      .toEqual({ file: 'f', values: { stateDir: '/a', ccciRepo: '/b' }, warnings: [] });
  });

  it('refuses an empty value and the same key spelled both ways', () => {
    expect(() => parseSettings('[sweep]\nstate-dir = ""\n', '/s.toml')).toThrow('settings file /s.toml: [sweep] state-dir is empty');
    expect(() => parseSettings('[sweep]\nupstream_url = " "\n', '/s.toml')).toThrow('[sweep] upstream_url is empty');
    expect(() => parseSettings('[sweep]\nstate-dir = "/a"\nstate_dir = "/b"\n', '/s.toml'))
      .toThrow('settings file /s.toml: [sweep] sets state-dir twice (state-dir and state_dir); keep one');
  });

  it.each([
    ['stat-dir', 'state-dir'], ['statedir', 'state-dir'], ['State-Dir', 'state-dir'], ['state-dirs', 'state-dir'],
    ['recipe-dir', 'recipes-dir'], ['recipes_directory', null], ['ccci-run', 'cc-ci-run'], ['upstream-uri', 'upstream-url'],
    ['mirror_token', null], ['mirror-token-fle', 'mirror-token-file'], ['timeout', null], ['domain', null], ['cc-ci-repo', 'ccci-repo'],
  ])('warns about %s only when it is close to a setting (%s)', (key, near) => {
    const s = parseSettings(`[sweep]\n"${key}" = "x"\n`, '/s.toml');
    expect(s.values).toEqual({});
    expect(s.warnings).toEqual(near ? [`settings file /s.toml: [sweep] ${key} is not a ccci-sweep setting and is ignored; did you mean ${near}?`] : []);
  });

  it('computes edit distances', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('state-dir', 'state-dir')).toBe(0);
  });
});

describe('readSettings', () => {
  const file = (text: string) => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'ccci-settings-')), 'settings.toml');
    writeFileSync(f, text);
    return f;
  };

  it('treats an absent file as empty and a malformed one as a ConfigError', () => {
    expect(readSettings('/nonexistent/settings.toml')).toEqual({ file: '/nonexistent/settings.toml', values: {}, warnings: [] });
    expect(() => readSettings(file('[sweep'))).toThrow(/not valid TOML/);
    expect(() => readSettings(file('[sweep]\nstate-dir = 3\n'))).toThrow(/state-dir must be a string/);
  });
});
