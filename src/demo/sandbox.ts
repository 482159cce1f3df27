// The demo's throwaway CI host: bare "upstream" recipe repos with annotated release tags and compose
// labels, a cc-ci repo with recipe_meta.py files, and a stand-in cc-ci-run that passes every test. A small
// copy of what `ccci-sweep demo` needs: the tests' stand-in (test/support/sandbox.ts, steered by a control
// file) is not shipped.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runGit } from '../adapters/git.js';

export interface DemoRecipe {
  name: string;
  cadence?: 'nightly' | 'weekly';
  releases: { tag: string }[];
  /** Commits on the default branch after the last release, never tagged. */
  untaggedAfter?: number;
  /** Non-release tags (e.g. `latest`), pointing at the last commit. */
  otherTags?: string[];
}

export interface DemoHost {
  root: string;
  git: Git;
  upstreamDir: string;
  stateDir: string;
  /** Environment for running ccci-sweep against this host. */
  env: Record<string, string>;
}

const IDENTITY = {
  GIT_AUTHOR_NAME: 'demo', GIT_AUTHOR_EMAIL: 'demo@example.invalid',
  GIT_COMMITTER_NAME: 'demo', GIT_COMMITTER_EMAIL: 'demo@example.invalid',
};

// Follows the harness contract the simplest way: say what is tested, pass.
const STAND_IN_CC_CI_RUN = `#!/usr/bin/env node
const script = process.argv[2] || '';
const what = script.includes('seed') ? 'seeding warm data for ' : 'testing ';
console.log(what + (process.env.RECIPE || '') + ' ' + (process.env.CCCI_SWEEP_TAG || ''));
`;

function composeFile(label: string): string {
  return [
    'version: "3.8"', 'services:', '  app:', '    image: example/app:1', '    deploy:', '      labels:',
    '        - "traefik.enable=true"', `        - "coop-cloud.\${STACK_NAME}.version=${label}"`, '',
  ].join('\n');
}

export type Git = (dir: string, args: string[]) => Promise<string>;

/** git in `dir` through the sweep's own adapter, in the operator's environment with a fixed identity. */
function gitWith(env: NodeJS.ProcessEnv): Git {
  return async (dir, args) => (await runGit(args, { cwd: dir, env: { ...env, ...IDENTITY } })).stdout;
}

async function commitAll(git: Git, dir: string, message: string): Promise<void> {
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '--quiet', '-m', message]);
}

async function makeUpstream(git: Git, upstreamDir: string, spec: DemoRecipe, workRoot: string): Promise<void> {
  const work = path.join(workRoot, spec.name);
  mkdirSync(work, { recursive: true });
  await git(work, ['init', '--quiet', '--initial-branch=main']);
  writeFileSync(path.join(work, 'README.md'), `# ${spec.name}\n`);
  writeFileSync(path.join(work, 'compose.yml'), composeFile('0.0.0+unreleased'));
  await commitAll(git, work, 'init');
  for (const r of spec.releases) {
    writeFileSync(path.join(work, 'compose.yml'), composeFile(r.tag));
    await commitAll(git, work, `release ${r.tag}`);
    await git(work, ['tag', '-a', '-m', `release ${r.tag}`, r.tag]);
  }
  for (let i = 0; i < (spec.untaggedAfter ?? 0); i++) {
    writeFileSync(path.join(work, 'CHANGES.md'), `unreleased change ${i + 1}\n`);
    await commitAll(git, work, `unreleased change ${i + 1}`);
  }
  for (const t of spec.otherTags ?? []) await git(work, ['tag', t]);
  await git(workRoot, ['clone', '--quiet', '--bare', work, path.join(upstreamDir, `${spec.name}.git`)]);
}

export async function buildDemoHost(root: string, specs: DemoRecipe[], env: NodeJS.ProcessEnv): Promise<DemoHost> {
  const git = gitWith(env);
  const upstreamDir = path.join(root, 'upstream');
  const ccciRepo = path.join(root, 'cc-ci');
  const recipesDir = path.join(root, 'abra', 'recipes');
  const stateDir = path.join(root, 'state');
  const ccciRun = path.join(root, 'bin', 'cc-ci-run');
  const work = path.join(root, 'work');
  for (const d of [upstreamDir, recipesDir, stateDir, path.dirname(ccciRun), work]) mkdirSync(d, { recursive: true });
  for (const spec of specs) await makeUpstream(git, upstreamDir, spec, work);
  for (const spec of specs) {
    mkdirSync(path.join(ccciRepo, 'tests', spec.name), { recursive: true });
    writeFileSync(
      path.join(ccciRepo, 'tests', spec.name, 'recipe_meta.py'),
      `# Recipe test metadata read by the harness and by ccci-sweep.\nWARM_CANONICAL = True\nSWEEP_CADENCE = "${spec.cadence ?? 'weekly'}"\n`,
    );
  }
  mkdirSync(path.join(ccciRepo, 'runner'), { recursive: true });
  writeFileSync(path.join(ccciRepo, 'runner', 'run_recipe_ci.py'), '# the real harness lives in cc-ci\n');
  writeFileSync(path.join(ccciRepo, 'runner', 'seed_canonical.py'), '# retains the warm data of a promoted run\n');
  await git(ccciRepo, ['init', '--quiet', '--initial-branch=main']);
  await commitAll(git, ccciRepo, 'cc-ci');
  writeFileSync(ccciRun, STAND_IN_CC_CI_RUN);
  chmodSync(ccciRun, 0o755);
  return {
    root, git, upstreamDir, stateDir,
    env: {
      CCCI_REPO: ccciRepo, CCCI_STATE_DIR: stateDir, CCCI_RECIPES_DIR: recipesDir, CCCI_RUN: ccciRun,
      CCCI_UPSTREAM_URL: `file://${upstreamDir}/{recipe}.git`, CCCI_SETTINGS: path.join(root, 'settings.toml'),
    },
  };
}

/** The commit an upstream release tag points to (peeled), read from the bare upstream repo. */
export async function upstreamTagCommit(host: DemoHost, recipe: string, tag: string): Promise<string> {
  return (await host.git(path.join(host.upstreamDir, `${recipe}.git`), ['rev-parse', '--verify', `refs/tags/${tag}^{commit}`])).trim();
}
