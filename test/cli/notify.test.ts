// --notify end to end: the built CLI posts to a loopback receiver when a recipe's health changes, once per
// change (not again for the same failing tag), retries a receiver that is down, and never fails the sweep.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addRelease } from '../support/sandbox.js';
import { cliJson, control, launches, readJson, sandbox } from '../support/cli.js';
import { closeServer } from '../support/http.js';
import { startProxy } from '../support/proxy.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

interface Received { body: any; raw: string; headers: http.IncomingHttpHeaders; url: string }

/** A webhook receiver: answers each POST with the next status of `answers` (then 200) and records it. */
async function receiver(answers: number[] = []) {
  const got: Received[] = [];
  let tries = 0;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      tries += 1;
      const status = answers.shift() ?? 200;
      if (status === 200) got.push({ body: JSON.parse(raw), raw, headers: req.headers, url: req.url ?? '' });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => closeServer(server));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/s3cret-path`, got, tries: () => tries };
}

async function proxy(o: { forward?: boolean } = {}) {
  const p = await startProxy(o);
  cleanups.push(() => p.close());
  return p;
}

describe('--notify', () => {
  it('announces a first failure, not the same failing tag again, a new failing tag, and the recovery', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }, { name: 'quiet', releases: [{ tag: '3.0.0' }] }]);
    cleanups.push(() => rmSync(sb.root, { recursive: true, force: true }));
    const token = 'tok-notify-never-9d2e';
    const tokenFile = path.join(sb.root, 'token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const hook = await receiver();
    const env = { CCCI_MIRROR_TOKEN_FILE: tokenFile };
    control(sb, { gitea: { exit: 1, print: `oops ${token}` } });

    const first = await cliJson(sb, ['run', '--notify', hook.url], env);
    expect(first.r.exitCode).toBe(1);
    expect(hook.got.map((g) => g.body)).toEqual([{
      recipe: 'gitea', from: 'unknown', to: 'failing', outcome: 'red', tag: '1.0.0', detail: 'harness exited 1',
      log: first.doc.recipes[0].log, host: expect.any(String), text: expect.stringMatching(/^gitea 1\.0\.0 is failing on .* \(red: harness exited 1\); log \//),
    }]);
    expect(hook.got[0]!.headers['content-type']).toBe('application/json');
    expect(hook.got[0]!.headers.authorization).toBeUndefined();
    expect(hook.got[0]!.raw).not.toContain(token);
    expect(readJson(path.join(sb.stateDir, 'notify-state.json'))).toMatchObject({ gitea: { health: 'failing', tag: '1.0.0' }, quiet: { health: 'ok' } });

    // Still red on the same tag (known red, skipped): nothing new to say.
    const same = await cliJson(sb, ['run'], { ...env, CCCI_NOTIFY: hook.url });
    expect(same.doc.recipes[0]).toMatchObject({ outcome: 'skipped', reason: 'known-red-unchanged' });
    expect(hook.got).toHaveLength(1);

    // A new release failing is news; then a green one is the recovery.
    await addRelease(sb, 'gitea', { tag: '1.1.0' });
    await cliJson(sb, ['run', '--notify', hook.url], env);
    expect(hook.got.map((g) => [g.body.from, g.body.to, g.body.tag])).toEqual([['unknown', 'failing', '1.0.0'], ['failing', 'failing', '1.1.0']]);
    await addRelease(sb, 'gitea', { tag: '1.2.0' });
    control(sb, {});
    const ok = await cliJson(sb, ['run', '--notify', hook.url], env);
    expect(ok.r.exitCode).toBe(0);
    expect(hook.got.at(-1)!.body).toMatchObject({ recipe: 'gitea', from: 'failing', to: 'ok', outcome: 'promoted', tag: '1.2.0', text: expect.stringMatching(/^gitea 1\.2\.0 is ok again on /) });
    expect(hook.got).toHaveLength(3);
  });

  it('keeps webhook URLs and URL credentials from the harness: not in its environment, scrubbed from harness.log and the logs', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    cleanups.push(() => rmSync(sb.root, { recursive: true, force: true }));
    const hook = await receiver();
    const other = await receiver();
    const password = 'pw-in-url-7c41e0';
    // The harness prints every secret it could know of.
    control(sb, { gitea: { exit: 1, print: `hook ${hook.url} other ${other.url} pw ${password}` } });
    const env = {
      CCCI_NOTIFY: hook.url,
      MY_WEBHOOK: hook.url,
      CCCI_GITEA_API: `http://sweep:${password}@127.0.0.1:9/api/v1`,
    };
    const run = await cliJson(sb, ['run', '--no-sync', '--notify', other.url], env);
    expect(run.r.exitCode).toBe(1);
    expect(other.got).toHaveLength(1);
    const seen = launches(sb).find((l) => !l.script.includes('seed'))!.env;
    expect(seen.CCCI_NOTIFY).toBeUndefined();
    expect(seen.MY_WEBHOOK).toBeUndefined();
    expect(seen.CCCI_GITEA_API).toBeUndefined();
    const everything = JSON.stringify(seen);
    for (const secret of ['s3cret-path', password]) expect(everything).not.toContain(secret);
    const harnessLog = readFileSync(run.doc.recipes[0].log, 'utf8');
    expect(harnessLog).toContain('hook *** other *** pw ***');
    for (const text of [harnessLog, run.r.stderr, run.r.stdout]) {
      expect(text).not.toContain('s3cret-path');
      expect(text).not.toContain(password);
    }
  });

  it('retries a receiver that answers 503 with back-off; a refusal (4xx) is logged, never fails the run, and is announced again next run', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    cleanups.push(() => rmSync(sb.root, { recursive: true, force: true }));
    control(sb, { gitea: { exit: 1 } });
    const refusing = await receiver([404]);
    const first = await cliJson(sb, ['run', '--notify', refusing.url]);
    expect(first.r.exitCode).toBe(1); // the red test, not the notification
    expect(refusing.tries()).toBe(1);
    expect(first.r.stderr).toMatch(/notification not delivered/);
    expect(first.r.stderr).not.toContain('s3cret-path');

    const flaky = await receiver([503, 503]);
    const again = await cliJson(sb, ['run', '--notify', flaky.url]);
    expect(again.doc.recipes[0]).toMatchObject({ reason: 'known-red-unchanged' });
    expect(flaky.tries()).toBe(3);
    expect(flaky.got.map((g) => [g.body.recipe, g.body.to])).toEqual([['gitea', 'failing']]);
  });

  it('goes through http_proxy like the Gitea client', async () => {
    const sb = await sandbox([{ name: 'gitea', releases: [{ tag: '1.0.0' }] }]);
    cleanups.push(() => rmSync(sb.root, { recursive: true, force: true }));
    control(sb, { gitea: { exit: 1 } });
    const hook = await receiver();
    const p = await proxy({ forward: true });
    await cliJson(sb, ['run', '--notify', hook.url], { http_proxy: p.url });
    expect(hook.got).toHaveLength(1);
    // An http URL is asked of the proxy as an absolute URL, as curl (so git) does; CONNECT is for https.
    expect(p.seen).toEqual([`POST ${hook.url}`]);
  });
});
