// What commands share: the sweep context, the host lock and the recipe selection.
import type { Config } from '../core/config.js';
import type { Logger } from '../adapters/log.js';
import type { Io } from './io.js';
import type { CommonOpts } from './program.js';
import { setScrub, type Stopper } from './signals.js';

export async function context(config: Config, io: Io, opts: { dryRun: boolean; signal?: AbortSignal; mirror?: boolean }) {
  const { createLogger, scrub } = await import('../adapters/log.js');
  setScrub(scrub);
  const { createWriter } = await import('../adapters/writer.js');
  const { mirrorSetup } = await import('../sweep/context.js');
  // The sweep's one list of secrets (URL credentials, notify URLs; tokens below), before anything is logged.
  const { registerConfiguredSecrets } = await import('../adapters/secrets.js');
  registerConfiguredSecrets(config, io.env);
  const log = createLogger({ env: io.env });
  const mirror = opts.mirror === false ? null : mirrorSetup(config);
  // Whenever a token file is configured its token is scrubbed from every log line and harness.log, even
  // when this command does not use it (--no-sync): the harness could still print it.
  if (!mirror?.token && config.mirrorTokenFile) {
    const { registerTokenFileSecret } = await import('../adapters/fs/token-file.js');
    registerTokenFileSecret(config.mirrorTokenFile);
  }
  if (config.ciTokenFile) {
    const { registerTokenFileSecret } = await import('../adapters/fs/token-file.js');
    registerTokenFileSecret(config.ciTokenFile, 'CI token');
  }
  return { config, log, writer: createWriter(opts.dryRun, log), env: io.env, now: () => new Date(), signal: opts.signal, mirror, crash: io.crash,
    // Lock files name the command line that holds them, so an operator can tell a timer sweep from a by-hand run.
    command: ['ccci-sweep', ...process.argv.slice(2)].join(' ') };
}

/** The host lock for commands that write (run, sync); plan and status never take it. */
async function hostLock(ctx: { config: Config; log: Logger; env: NodeJS.ProcessEnv; now: () => Date }, command: string, waitMs: number, signal: AbortSignal) {
  const { mkdirSync } = await import('node:fs');
  const { acquireHostLock } = await import('../adapters/fs/lock.js');
  const { startedBy } = await import('../sweep/context.js');
  const { assertWritableStateDir } = await import('../adapters/fs/settings.js');
  // Every command that writes comes here first: a read-only state dir is one line and exit 2.
  assertWritableStateDir(ctx.config.stateDir);
  mkdirSync(ctx.config.stateDir, { recursive: true });
  return acquireHostLock(ctx.config.stateDir, {
    // The whole command line, so an operator can tell a timer sweep from a by-hand `run --recipe x`.
    log: ctx.log, command: ['ccci-sweep', command, ...process.argv.slice(3)].join(' '), by: startedBy(ctx.env), now: ctx.now, waitMs, signal,
  });
}

/** The host lock, or null when a signal ended the wait for it (exit 130/143/129, not 3). */
export async function hostLockUnlessStopped(
  ctx: { config: Config; log: Logger; env: NodeJS.ProcessEnv; now: () => Date }, command: string, waitMs: number, stop: Stopper, io: Io,
) {
  try {
    return await hostLock(ctx, command, waitMs, stop.signal);
  } catch (err) {
    if (stop.exitCode() === null) throw err;
    io.stderr('ccci-sweep: stopped while waiting for the host lock; nothing was done\n');
    return null;
  }
}

/**
 * At the start of a command that calls out: a proxy the sweep's HTTP cannot use (socks5://) in effect for
 * the Gitea API (mirror-sync's PR reconciliation, when a token is configured) or a --notify URL is one
 * line and exit 2 now, not a failure per recipe or a lost notification later. no_proxy exempts as always.
 */
export async function refuseUnusableProxies(
  env: NodeJS.ProcessEnv, o: { mirror?: { giteaApi: string; token: string | undefined } | null; notify?: string[] },
): Promise<void> {
  const { refuseUnusableProxy } = await import('../adapters/http-transport.js');
  if (o.mirror?.token) refuseUnusableProxy(env, o.mirror.giteaApi, 'the Gitea API');
  for (const url of o.notify ?? []) refuseUnusableProxy(env, url, 'a --notify URL');
}

export async function selection(config: Config, o: CommonOpts) {
  const { readEnrolment, selectRecipes } = await import('../adapters/fs/enrolment-files.js');
  return selectRecipes(readEnrolment(config.ccciRepo), config.ccciRepo, o.recipe, o.cadence ?? 'all');
}
