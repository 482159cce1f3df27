// The CI client the configuration asks for: null for the local executor; ConfigError (exit 2) naming the
// flag, variable and settings key for anything missing or malformed. The token is read here, by the file
// rules of the mirror token, and registered as a secret.
import type { Config } from '../../core/config.js';
import { CiError, ConfigError } from '../../core/errors.js';
import { readTokenFile } from '../fs/token-file.js';
import { refuseUnusableProxy } from '../http-transport.js';
import { droneClient } from './drone.js';
import type { CiClient } from './engine.js';
import { woodpeckerClient } from './woodpecker.js';

export function ciClientFromConfig(config: Config, env: NodeJS.ProcessEnv): CiClient | null {
  if (!config.executor || config.executor === 'local') return null;
  const need = (v: string | undefined, flag: string, envName: string) => {
    if (!v) throw new ConfigError(`--executor ${config.executor} needs ${flag} (or ${envName}, or [sweep] ${flag.slice(2)})`);
    return v;
  };
  const server = need(config.ciServer, '--ci-server', 'CCCI_CI_SERVER');
  const repo = need(config.ciRepo, '--ci-repo', 'CCCI_CI_REPO');
  const tokenFile = need(config.ciTokenFile, '--ci-token-file', 'CCCI_CI_TOKEN_FILE');
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ConfigError(`--ci-server ${server} is not a URL; use https://ci.example.org`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new ConfigError(`--ci-server ${server} is not an http(s) URL`);
  // A proxy the sweep's HTTP cannot use (socks5://) is refused here, at the start, unless no_proxy exempts the server.
  refuseUnusableProxy(env, server, 'the CI server');
  const token = readTokenFile(tokenFile, 'CI token');
  const o = { server, repo, token, branch: config.ciBranch ?? 'main', env };
  try {
    return config.executor === 'drone' ? droneClient(o) : woodpeckerClient(o);
  } catch (err) {
    // A malformed --ci-repo is a configuration error, not a failed call.
    if (err instanceof CiError) throw new ConfigError(err.message);
    throw err;
  }
}

/** For `doctor`: the CI settings are complete and the server lists the repo's builds with this token. */
export async function ciProbe(config: Config, env: NodeJS.ProcessEnv): Promise<{ name: string; ok: boolean; detail: string }> {
  const name = `CI executor (${config.executor})`;
  try {
    const client = ciClientFromConfig(config, env);
    if (!client) return { name, ok: true, detail: 'local: tests run on this host' };
    const recent = await client.recent();
    return { name, ok: true, detail: `${config.ciServer} answers for ${config.ciRepo} (${recent.length} recent builds)` };
  } catch (err) {
    return { name, ok: false, detail: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
}
