// Reads the `[sweep]` table of the settings file for the operator-control keys (the global options read
// the same file in src/adapters/fs/settings.ts; the table is shared with other tools, so unknown keys are left alone).
import { readRegularText } from './read-file.js';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { DEFAULT_SETTINGS_FILE } from '../../core/config.js';
import { type OperatorFlags, type OperatorSettings, resolveOperatorSettings } from '../../core/operator-settings.js';

export function loadOperatorSettings(flags: OperatorFlags, env: NodeJS.ProcessEnv, cwd: string): OperatorSettings {
  const file = env.CCCI_SETTINGS || DEFAULT_SETTINGS_FILE;
  let table: Record<string, unknown> = {};
  try {
    const doc = parseToml(readRegularText(file, { follow: true })) as Record<string, unknown>;
    if (typeof doc.sweep === 'object' && doc.sweep !== null && !Array.isArray(doc.sweep)) table = doc.sweep as Record<string, unknown>;
  } catch {
    // a missing file is no settings; a malformed one is already refused by loadConfig, which runs first
  }
  const s = resolveOperatorSettings(flags, env, table, file);
  // Disk paths from the settings file are relative to its folder, like every path there; others to cwd.
  if (s.diskPaths) {
    const fromSettings = flags.diskPath?.length ? false : !env.CCCI_DISK_PATH?.trim();
    const base = fromSettings ? path.dirname(path.resolve(cwd, file)) : cwd;
    s.diskPaths = s.diskPaths.map((p) => path.resolve(base, p));
  }
  return s;
}
