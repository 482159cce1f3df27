// Global settings: each is a flag, an environment variable and a key of the `[sweep]` table in the server
// settings file. Precedence: flag > env > settings file > default. The table below is the one list; the CLI
// registers its global options from it, and the README documents it. This module is the one place config
// is validated: nothing may silently point elsewhere (an empty path, a URL template without {recipe}, a
// relative path that depends on where the timer happened to start).

import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { readRegularText } from './read-file.js';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { ConfigError } from '../../core/errors.js';
import { blank, type Config, type ConfigKey, DEFAULT_SETTINGS_FILE, editDistance, EXECUTORS, type OptionSpec, type Settings } from '../../core/config.js';

export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'ccciRepo', kind: 'dir', flag: 'ccci-repo', arg: 'DIR', env: 'CCCI_REPO',
    description: 'cc-ci repo (tests/<recipe>/recipe_meta.py, harness scripts)',
    fallback: () => '/etc/cc-ci',
  },
  {
    key: 'stateDir', kind: 'dir', flag: 'state-dir', arg: 'DIR', env: 'CCCI_STATE_DIR',
    description: 'where canonicals, history and run logs live',
    fallback: () => '/var/lib/ci-warm',
  },
  {
    key: 'recipesDir', kind: 'dir', flag: 'recipes-dir', arg: 'DIR', env: 'CCCI_RECIPES_DIR',
    description: 'local recipe clones (default $ABRA_DIR/recipes, else ~/.abra/recipes)',
    fallback: (env) =>
      env.ABRA_DIR ? path.join(env.ABRA_DIR, 'recipes') : path.join(env.HOME || homedir(), '.abra', 'recipes'),
  },
  {
    key: 'ccciRun', kind: 'command', flag: 'cc-ci-run', arg: 'PATH', env: 'CCCI_RUN',
    description: 'the shared harness wrapper (default: cc-ci-run on PATH)',
    fallback: () => 'cc-ci-run',
  },
  {
    key: 'harnessScript', kind: 'script', flag: 'harness-script', arg: 'REL', env: 'CCCI_HARNESS_SCRIPT',
    description: 'harness script, relative to the cc-ci repo',
    fallback: () => 'runner/run_recipe_ci.py',
  },
  {
    key: 'seedScript', kind: 'script', flag: 'seed-script', arg: 'REL', env: 'CCCI_SEED_SCRIPT',
    description: 'warm-data seed script run on promotion, relative to the cc-ci repo',
    fallback: () => 'runner/seed_canonical.py',
  },
  {
    key: 'upstreamUrl', kind: 'template', flag: 'upstream-url', arg: 'TEMPLATE', env: 'CCCI_UPSTREAM_URL',
    description: 'upstream repo URL template; {recipe} is replaced',
    fallback: () => 'https://git.coopcloud.tech/coop-cloud/{recipe}.git',
  },
  {
    key: 'mirrorUrl', kind: 'template', flag: 'mirror-url', arg: 'TEMPLATE', env: 'CCCI_MIRROR_URL',
    description: 'mirror repo URL template; without it mirror-sync is skipped',
    fallback: () => undefined,
  },
  {
    key: 'giteaApi', kind: 'url', flag: 'gitea-api', arg: 'URL', env: 'CCCI_GITEA_API',
    description: "Gitea API base (default: the mirror URL's origin + /api/v1)",
    fallback: () => undefined,
  },
  {
    key: 'mirrorTokenFile', kind: 'file', flag: 'mirror-token-file', arg: 'PATH', env: 'CCCI_MIRROR_TOKEN_FILE',
    description: 'file holding the mirror token (default $CREDENTIALS_DIRECTORY/mirror-token)',
    fallback: (env) => (env.CREDENTIALS_DIRECTORY ? path.join(env.CREDENTIALS_DIRECTORY, 'mirror-token') : undefined),
  },
  {
    key: 'executor', kind: 'word', flag: 'executor', arg: 'local|drone|woodpecker', env: 'CCCI_EXECUTOR',
    description: 'where `run` tests: on this host, or as builds of the CI engine', fallback: () => 'local', choices: EXECUTORS,
  },
  {
    key: 'ciServer', kind: 'url', flag: 'ci-server', arg: 'URL', env: 'CCCI_CI_SERVER',
    description: 'the Drone or Woodpecker server (https://ci.example.org)', fallback: () => undefined,
  },
  {
    key: 'ciTokenFile', kind: 'file', flag: 'ci-token-file', arg: 'PATH', env: 'CCCI_CI_TOKEN_FILE',
    description: 'file holding the CI API token (default $CREDENTIALS_DIRECTORY/ci-token)',
    fallback: (env) => (env.CREDENTIALS_DIRECTORY ? path.join(env.CREDENTIALS_DIRECTORY, 'ci-token') : undefined),
  },
  {
    key: 'ciRepo', kind: 'word', flag: 'ci-repo', arg: 'REPO', env: 'CCCI_CI_REPO',
    description: 'the cc-ci repo on the CI server (Drone: owner/name; Woodpecker: repo id or owner/name)', fallback: () => undefined,
  },
  {
    key: 'ciBranch', kind: 'word', flag: 'ci-branch', arg: 'BRANCH', env: 'CCCI_CI_BRANCH',
    description: 'branch of the cc-ci repo the sweep builds run on', fallback: () => 'main',
  },
];

/** Pure: the `[sweep]` table of a settings file's text. Malformed: ConfigError naming the file and key. */
export function parseSettings(text: string, file: string): Settings {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    throw new ConfigError(`settings file ${file} is not valid TOML (${first}); fix it or point CCCI_SETTINGS elsewhere`);
  }
  const out: Settings = { file, values: {}, warnings: [] };
  // A table meant to be ours but spelt otherwise (`[Sweep]`, `[sweeep]`) would be ignored without a word.
  for (const name of Object.keys(doc)) {
    if (name !== 'sweep' && editDistance(name.toLowerCase(), 'sweep') <= 1) {
      out.warnings.push(`settings file ${file}: [${name}] is not a ccci-sweep table and is ignored; did you mean [sweep]?`);
    }
  }
  const table = doc.sweep;
  if (table === undefined) return out;
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new ConfigError(`settings file ${file}: [sweep] must be a table`);
  }
  const seen = new Map<ConfigKey, string>();
  for (const [rawKey, value] of Object.entries(table)) {
    const spec = GLOBAL_OPTIONS.find((o) => o.flag === rawKey.replaceAll('_', '-'));
    if (!spec) {
      // Other tools share this table, so unknown keys are theirs; one close to ours is most likely a typo.
      const near = closeSetting(rawKey);
      if (near) out.warnings.push(`settings file ${file}: [sweep] ${rawKey} is not a ccci-sweep setting and is ignored; did you mean ${near}?`);
      continue;
    }
    const earlier = seen.get(spec.key);
    if (earlier !== undefined) {
      throw new ConfigError(`settings file ${file}: [sweep] sets ${spec.flag} twice (${earlier} and ${rawKey}); keep one`);
    }
    seen.set(spec.key, rawKey);
    if (typeof value !== 'string') {
      throw new ConfigError(`settings file ${file}: [sweep] ${rawKey} must be a string`);
    }
    if (blank(value)) {
      throw new ConfigError(`settings file ${file}: [sweep] ${rawKey} is empty; set it or remove the line to use the default`);
    }
    out.values[spec.key] = value;
  }
  return out;
}

/** Reads the `[sweep]` table of the settings file. Absent file: empty. Malformed: ConfigError. */
export function readSettings(file: string): Settings {
  let text: string;
  try {
    // Followed when a symlink (NixOS links /etc files into the store); never blocking on a FIFO.
    text = readRegularText(file, { follow: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { file, values: {}, warnings: [] };
    throw new ConfigError(`cannot read settings file ${file}: ${(err as Error).message}`);
  }
  return parseSettings(text, file);
}

/**
 * Pure: merges flag > env > settings > default, refuses values that would silently point elsewhere, and
 * makes paths absolute. An empty flag or setting is an error; an empty environment variable counts as
 * unset (as `Environment=CCCI_STATE_DIR=` in a unit means). `cwd` is where relative flags and env values
 * resolve; relative settings resolve against the settings file's folder, so a timer and a by-hand run
 * from another directory see the same paths.
 */
export function resolveConfig(
  flags: Partial<Record<ConfigKey, string | undefined>>,
  env: NodeJS.ProcessEnv,
  settings: Settings | null,
  cwd: string,
): Config {
  const out: Partial<Record<ConfigKey, string | undefined>> = {};
  for (const spec of GLOBAL_OPTIONS) {
    const flag = flags[spec.key];
    const fromEnv = env[spec.env];
    const fromSettings = settings?.values[spec.key];
    let value: string | undefined;
    let base = cwd;
    let origin: string;
    if (flag !== undefined) {
      if (blank(flag)) throw new ConfigError(`--${spec.flag} is empty; give a value or leave the option out to use the default`);
      [value, origin] = [flag, `--${spec.flag}`];
    } else if (fromEnv !== undefined && !blank(fromEnv)) {
      [value, origin] = [fromEnv, spec.env];
    } else if (fromSettings !== undefined) {
      [value, origin, base] = [fromSettings, `settings file ${settings!.file}: [sweep] ${spec.flag}`, path.dirname(path.resolve(cwd, settings!.file))];
    } else {
      [value, origin] = [spec.fallback(env), `the default ${spec.flag}`];
    }
    if (value !== undefined && spec.kind === 'template' && !value.includes('{recipe}')) {
      throw new ConfigError(`${origin} (${value}) has no {recipe}: every recipe would be fetched from one repository; put {recipe} where the recipe name goes`);
    }
    // A script is run as `<cc-ci-run> <script>` from the cc-ci repo: one outside it is not the repo's test.
    if (value !== undefined && spec.kind === 'script' && (path.isAbsolute(value) || path.normalize(value).split(path.sep)[0] === '..')) {
      throw new ConfigError(`${origin} (${value}) is outside the cc-ci repo; give a path relative to the cc-ci repo, inside it`);
    }
    if (value !== undefined && spec.choices && !spec.choices.includes(value)) {
      throw new ConfigError(`${origin} is ${JSON.stringify(value)}; use one of ${spec.choices.join(', ')}`);
    }
    const isPath = spec.kind === 'dir' || spec.kind === 'file' || (spec.kind === 'command' && value?.includes('/'));
    // Nothing expands `~` here (not TOML, not `--state-dir=~/x`): it would become a folder named `~`.
    if (value !== undefined && isPath && /^~(\/|$)/.test(value)) {
      throw new ConfigError(`${origin} (${value}) starts with ~, which is not expanded here; write the full path`);
    }
    out[spec.key] = value !== undefined && isPath ? path.resolve(base, value) : value;
  }
  return out as Config;
}

/** Loads the settings file named by $CCCI_SETTINGS (or the default) and resolves the config. */
export function loadConfig(
  flags: Partial<Record<ConfigKey, string | undefined>>,
  env: NodeJS.ProcessEnv,
  cwd: string,
): { config: Config; warnings: string[] } {
  const settings = readSettings(env.CCCI_SETTINGS || DEFAULT_SETTINGS_FILE);
  return { config: resolveConfig(flags, env, settings, cwd), warnings: settings.warnings };
}

/**
 * For commands that write (run, sync): the state dir exists or can be made, and a file can be created in
 * it. Checked before anything else, so a read-only or foreign-owned state dir is one line and exit 2, not
 * a failure halfway through a sweep.
 */
export function assertWritableStateDir(stateDir: string): void {
  const probe = path.join(stateDir, `.write-test-${process.pid}`);
  try {
    mkdirSync(stateDir, { recursive: true });
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    let isDir = false;
    try {
      isDir = statSync(stateDir).isDirectory();
    } catch {
      isDir = e.code !== 'EEXIST' && e.code !== 'ENOTDIR';
    }
    if (!isDir) {
      throw new ConfigError(`state dir ${stateDir} is not a directory: remove that file or point --state-dir elsewhere`);
    }
    const why = e.code === 'EROFS' ? 'read-only file system' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : (e.code ?? e.message);
    throw new ConfigError(`state dir ${stateDir} is not writable (${why}): fix its permissions or mount, or point --state-dir elsewhere`);
  }
}

/** The setting an unknown key was probably meant to be, or null when it is just some other tool's key. */
export function closeSetting(rawKey: string): string | null {
  const key = rawKey.toLowerCase().replaceAll('_', '-');
  let best: { flag: string; d: number } | null = null;
  for (const o of GLOBAL_OPTIONS) {
    const d = Math.min(editDistance(key, o.flag), editDistance(key.replaceAll('-', ''), o.flag.replaceAll('-', '')));
    if (!best || d < best.d) best = { flag: o.flag, d };
  }
  // Within two edits (one for short keys): `stat-dir`, `recipe-dir`, `ccci-run`, `State-Dir`.
  return best && best.d <= (key.length <= 6 ? 1 : 2) ? best.flag : null;
}
