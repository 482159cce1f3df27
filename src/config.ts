// Global settings: each is a flag, an environment variable and a key of the `[sweep]` table in the server
// settings file. Precedence: flag > env > settings file > default. The table below is the one list; the CLI
// registers its global options from it, and the README documents it.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { ConfigError } from './errors.js';

export interface Config {
  ccciRepo: string;
  stateDir: string;
  recipesDir: string;
  /** As given; resolved against PATH only when a harness is launched (plan does not need it). */
  ccciRun: string;
  harnessScript: string;
  seedScript: string;
  upstreamUrl: string;
  /** Mirror URL template with {recipe}; unset means mirror-sync is skipped. */
  mirrorUrl: string | undefined;
  giteaApi: string | undefined;
  mirrorTokenFile: string | undefined;
}

export type ConfigKey = keyof Config;

export interface OptionSpec {
  key: ConfigKey;
  flag: string;
  /** Placeholder shown in --help. */
  arg: string;
  env: string;
  description: string;
  /** Default from the environment the sweep runs in; undefined means "no default". */
  fallback: (env: NodeJS.ProcessEnv) => string | undefined;
}

export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'ccciRepo', flag: 'ccci-repo', arg: 'DIR', env: 'CCCI_REPO',
    description: 'cc-ci repo (tests/<recipe>/recipe_meta.py, harness scripts)',
    fallback: () => '/etc/cc-ci',
  },
  {
    key: 'stateDir', flag: 'state-dir', arg: 'DIR', env: 'CCCI_STATE_DIR',
    description: 'where canonicals, history and run logs live',
    fallback: () => '/var/lib/ci-warm',
  },
  {
    key: 'recipesDir', flag: 'recipes-dir', arg: 'DIR', env: 'CCCI_RECIPES_DIR',
    description: 'local recipe clones (default $ABRA_DIR/recipes, else ~/.abra/recipes)',
    fallback: (env) =>
      env.ABRA_DIR ? path.join(env.ABRA_DIR, 'recipes') : path.join(env.HOME ?? homedir(), '.abra', 'recipes'),
  },
  {
    key: 'ccciRun', flag: 'cc-ci-run', arg: 'PATH', env: 'CCCI_RUN',
    description: 'the shared harness wrapper (default: cc-ci-run on PATH)',
    fallback: () => 'cc-ci-run',
  },
  {
    key: 'harnessScript', flag: 'harness-script', arg: 'REL', env: 'CCCI_HARNESS_SCRIPT',
    description: 'harness script, relative to the cc-ci repo',
    fallback: () => 'runner/run_recipe_ci.py',
  },
  {
    key: 'seedScript', flag: 'seed-script', arg: 'REL', env: 'CCCI_SEED_SCRIPT',
    description: 'warm-data seed script run on promotion, relative to the cc-ci repo',
    fallback: () => 'runner/seed_canonical.py',
  },
  {
    key: 'upstreamUrl', flag: 'upstream-url', arg: 'TEMPLATE', env: 'CCCI_UPSTREAM_URL',
    description: 'upstream repo URL template; {recipe} is replaced',
    fallback: () => 'https://git.coopcloud.tech/coop-cloud/{recipe}.git',
  },
  {
    key: 'mirrorUrl', flag: 'mirror-url', arg: 'TEMPLATE', env: 'CCCI_MIRROR_URL',
    description: 'mirror repo URL template; without it mirror-sync is skipped',
    fallback: () => undefined,
  },
  {
    key: 'giteaApi', flag: 'gitea-api', arg: 'URL', env: 'CCCI_GITEA_API',
    description: "Gitea API base (default: the mirror URL's origin + /api/v1)",
    fallback: () => undefined,
  },
  {
    key: 'mirrorTokenFile', flag: 'mirror-token-file', arg: 'PATH', env: 'CCCI_MIRROR_TOKEN_FILE',
    description: 'file holding the mirror token (default $CREDENTIALS_DIRECTORY/mirror-token)',
    fallback: (env) => (env.CREDENTIALS_DIRECTORY ? path.join(env.CREDENTIALS_DIRECTORY, 'mirror-token') : undefined),
  },
];

export const DEFAULT_SETTINGS_FILE = '/etc/cc-ci/settings.toml';

/** The `[sweep]` table: keys are the flag names (`state-dir`) or their snake_case form (`state_dir`). */
export type SweepSettings = Partial<Record<ConfigKey, string>>;

/** Reads the `[sweep]` table of the settings file. Absent file: empty. Malformed: ConfigError. */
export function readSettings(file: string): SweepSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read settings file ${file}: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    throw new ConfigError(`settings file ${file} is not valid TOML (${first}); fix it or point CCCI_SETTINGS elsewhere`);
  }
  const table = doc.sweep;
  if (table === undefined) return {};
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new ConfigError(`settings file ${file}: [sweep] must be a table`);
  }
  const out: SweepSettings = {};
  for (const [rawKey, value] of Object.entries(table)) {
    const name = rawKey.replaceAll('_', '-');
    const spec = GLOBAL_OPTIONS.find((o) => o.flag === name);
    if (!spec) continue; // other tools share this table; unknown keys are theirs
    if (typeof value !== 'string') {
      throw new ConfigError(`settings file ${file}: [sweep] ${rawKey} must be a string`);
    }
    out[spec.key] = value;
  }
  return out;
}

/** Pure: merges flag > env > settings > default. */
export function resolveConfig(
  flags: Partial<Record<ConfigKey, string | undefined>>,
  env: NodeJS.ProcessEnv,
  settings: SweepSettings,
): Config {
  const out: Partial<Record<ConfigKey, string | undefined>> = {};
  for (const spec of GLOBAL_OPTIONS) {
    const fromEnv = env[spec.env];
    out[spec.key] = flags[spec.key] ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined)
      ?? settings[spec.key] ?? spec.fallback(env);
  }
  return out as Config;
}

/** Loads the settings file named by $CCCI_SETTINGS (or the default) and resolves the config. */
export function loadConfig(
  flags: Partial<Record<ConfigKey, string | undefined>>,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const file = env.CCCI_SETTINGS || DEFAULT_SETTINGS_FILE;
  return resolveConfig(flags, env, readSettings(file));
}

/** Fills {recipe} in a URL template. */
export function urlFor(template: string, recipe: string): string {
  return template.replaceAll('{recipe}', recipe);
}
