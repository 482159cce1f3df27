// The one list of secrets the sweep knows: the mirror token and the CI token (registered when their files
// are read, src/adapters/fs/token-file.ts), the notify webhook URLs (chat webhooks carry their secret in the
// path), and the credentials in any configured URL. Everything registered here is scrubbed from every log
// line, error, report and harness.log (scrub(), src/adapters/log.ts), and a variable whose value holds
// one never reaches a harness (harnessVisibleEnv(), src/adapters/harness.ts).
import type { Config } from '../core/config.js';
import { registerSecret } from './log.js';

/** The variable that carries notify URLs; never passed to a harness, whatever its value. */
export const NOTIFY_ENV = 'CCCI_NOTIFY';

/** Registers a webhook URL: as given, as a URL parser writes it, its path and query, and its credentials. */
export function registerNotifyUrl(url: string): void {
  registerSecret(url);
  registerUrlCredentials(url);
  try {
    const u = new URL(url);
    registerSecret(u.href);
    // The secret part of a chat webhook; too short a path would scrub ordinary words.
    const tail = `${u.pathname}${u.search}`;
    if (tail.length >= 8) registerSecret(tail);
  } catch {
    // not a URL: refused where it is read
  }
}

/**
 * Registers the password of `scheme://user:password@host/…` (raw and decoded), or a long user name alone (a
 * token). The credentials end at the authority's last '@', as a URL parser, git and curl read `u:p@ss@host`.
 */
export function registerUrlCredentials(url: string | undefined): void {
  const m = url ? /^[a-z][a-z0-9+.-]*:\/\/([^/?#\s]*)@/i.exec(url) : null;
  if (!m?.[1]) return;
  const [user = '', ...rest] = m[1].split(':');
  const password = rest.join(':');
  const parts = password ? [password] : user.length >= 16 ? [user] : [];
  for (const p of parts) {
    registerSecret(p);
    try {
      registerSecret(decodeURIComponent(p));
    } catch {
      // not percent-encoded
    }
  }
}

/** Everything secret in the sweep's configuration and environment; called before anything is logged or launched. */
export function registerConfiguredSecrets(config: Partial<Config>, env: NodeJS.ProcessEnv): void {
  for (const url of [config.upstreamUrl, config.mirrorUrl, config.giteaApi, config.ciServer]) registerUrlCredentials(url);
  for (const url of (env[NOTIFY_ENV] ?? '').split(/\s+/).filter(Boolean)) registerNotifyUrl(url);
}
