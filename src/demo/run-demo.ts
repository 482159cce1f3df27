// `ccci-sweep demo`: a real plan and a real run in a throwaway sandbox, showing a promotion, a skip and a
// never-released recipe. Nothing outside the sandbox (a fresh temp dir) is touched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeCanonical } from '../adapters/fs/state-store.js';
import { buildDemoHost, upstreamTagCommit } from './sandbox.js';

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** The CLI's entry, passed in by the CLI itself: the demo never imports the CLI (no cycle). */
type Main = (argv: string[], io: Io) => Promise<number>;

export async function runDemo(io: Io, main: Main): Promise<number> {
  const root = mkdtempSync(path.join(tmpdir(), 'ccci-sweep-demo-'));
  const say = (t: string) => io.stdout(`\n== ${t}\n`);
  try {
    say(`building a sandbox CI host in ${root}`);
    const sb = await buildDemoHost(root, [
      // A new release since nothing was ever promoted: tested and promoted.
      { name: 'gitea', cadence: 'nightly', releases: [{ tag: '2.9.0+1.22.1' }, { tag: '3.0.0+1.23.1' }], otherTags: ['latest'] },
      // Already canonical at its newest release; main moved on without a tag: skipped.
      { name: 'nextcloud', releases: [{ tag: '6.0.0+29.0.4' }], untaggedAfter: 2 },
      // Never released: skipped.
      { name: 'keycloak', releases: [] },
    ], io.env);
    // nextcloud's canonical, as the old Python sweep wrote it.
    writeCanonical(sb.stateDir, {
      recipe: 'nextcloud', version: '6.0.0+29.0.4', commit: await upstreamTagCommit(sb, 'nextcloud', '6.0.0+29.0.4'),
      status: 'idle', ts: '20260101T020000Z', domain: 'nextcloud.ci.example',
    });

    const env = { ...io.env, ...sb.env, CCCI_LOG_FORMAT: io.env.CCCI_LOG_FORMAT ?? 'pretty' };
    const cli = (args: string[]) => {
      io.stdout(`\n$ ccci-sweep ${args.join(' ')}\n`);
      return main(['node', 'ccci-sweep', ...args], { ...io, env });
    };
    say('preview: nothing is written');
    await cli(['plan']);
    say('the sweep: gitea is tested through the stand-in cc-ci-run and promoted');
    const code = await cli(['run']);
    say('status afterwards');
    await cli(['status']);
    say('why gitea 3.0.0+1.23.1 is the newest release');
    await cli(['explain', 'gitea']);
    say('a second run right away launches nothing');
    const again = await cli(['run']);
    io.stdout(`\n(first run exit ${code}, second run exit ${again}; sandbox removed)\n`);
    return code === 0 && again === 0 ? 0 : 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
