// The config as data (pure): its keys, option kinds, the settings-file shape and URL templates. Reading
// the settings file and resolving flag > env > settings > default is src/adapters/fs/settings.ts.
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
  /** Where tests run: `local` (this host, default) or as builds of a CI engine. */
  executor?: Executor;
  /** The CI executors' server, token file, repo (Drone `owner/name`; Woodpecker id or `owner/name`), branch. */
  ciServer?: string;
  ciTokenFile?: string;
  ciRepo?: string;
  ciBranch?: string;
}

export const EXECUTORS = ['local', 'drone', 'woodpecker'] as const;
export type Executor = (typeof EXECUTORS)[number];

export type ConfigKey = keyof Config;

/**
 * What a value is, which decides how it is checked and resolved: `dir`/`file` become absolute (relative to
 * the working directory for flags and env, to the settings file's folder for settings); `command` is a
 * path when it has a `/`, else looked up on PATH; `script` stays relative to the cc-ci repo; `template`
 * must contain {recipe}.
 */
export type OptionKind = 'dir' | 'file' | 'command' | 'script' | 'template' | 'url' | 'word';

export interface OptionSpec {
  key: ConfigKey;
  kind: OptionKind;
  flag: string;
  /** Placeholder shown in --help. */
  arg: string;
  env: string;
  description: string;
  /** Default from the environment the sweep runs in; undefined means "no default". */
  fallback: (env: NodeJS.ProcessEnv) => string | undefined;
  /** The only values allowed (a `word` setting). */
  choices?: readonly string[];
}

export const DEFAULT_SETTINGS_FILE = '/etc/cc-ci/settings.toml';

/** The `[sweep]` table: keys are the flag names (`state-dir`) or their snake_case form (`state_dir`). */
export type SweepSettings = Partial<Record<ConfigKey, string>>;

export interface Settings {
  /** The settings file; relative paths in it resolve against its folder. */
  file: string;
  values: SweepSettings;
  /** Keys that look like a misspelt setting (ignored, but worth a line on stderr). */
  warnings: string[];
}

/** Pure: edit distance (insertions, deletions, substitutions) between two short strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}


export const blank = (v: string) => v.trim() === '';

/** Fills {recipe} in a URL template. */
export function urlFor(template: string, recipe: string): string {
  return template.replaceAll('{recipe}', recipe);
}
