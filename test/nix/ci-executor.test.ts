// services.ccci-sweep.executor: the sweeps dispatch their tests as CI builds, with the CI token as a
// systemd credential (never in the environment or the store), and the host's runner can run the
// sweep pipeline's `ccci-sweep worker` step with the services' environment.
import { describe, expect, it } from 'vitest';
import { execStartWords, nixEval, nixEvalError, prelude } from './helpers.js';

const CI = `services.ccci-sweep = {
  enable = true; executor = "drone"; mirrorTokenFile = "/run/secrets/mirror";
  ci = { server = "https://drone.example.org"; repo = "coop-cloud/cc-ci"; tokenFile = "/run/secrets/ci-token"; };
};`;

describe('services.ccci-sweep.executor', () => {
  it('drone: CCCI_EXECUTOR and the CI settings in the environment, the token as a credential read by --ci-token-file', async () => {
    const ev = await nixEval<any>(`${prelude()}
      let cfg = checkHost [ baseHost (root + "/modules/ccci-sweep.nix") (root + "/modules/drone-runner.nix")
        { ${CI} services.ccci-sweep.runnerWorker = true; services.ccci-drone-runner.enable = true; } ]; in {
        svc = cfg.systemd.services.ccci-sweep-nightly;
        runnerPath = map (p: "\${p}") cfg.systemd.services.drone-runner-exec.path;
        wrapper = "\${cfg.services.ccci-sweep.wrapperPackage}";
      }`);
    expect(ev.svc.environment).toMatchObject({
      CCCI_EXECUTOR: 'drone', CCCI_CI_SERVER: 'https://drone.example.org', CCCI_CI_REPO: 'coop-cloud/cc-ci', CCCI_CI_BRANCH: 'main',
    });
    // The token file's path is not in the unit's environment; the program reads the credential.
    expect(JSON.stringify(ev.svc.environment)).not.toContain('/run/secrets/ci-token');
    expect(ev.svc.serviceConfig.LoadCredential).toEqual(['mirror-token:/run/secrets/mirror', 'ci-token:/run/secrets/ci-token']);
    const words = execStartWords(String(ev.svc.serviceConfig.ExecStart));
    expect(words.join(' ')).toContain('--ci-token-file %d/ci-token');
    // The runner's steps find `ccci-sweep` (the wrapper with the services' environment).
    expect(ev.runnerPath).toContain(ev.wrapper);
  });

  it('local (the default): no CI settings, no CI credential, the runner path unchanged', async () => {
    const ev = await nixEval<any>(`${prelude()}
      let cfg = checkHost [ baseHost (root + "/modules/ccci-sweep.nix") (root + "/modules/drone-runner.nix")
        { services.ccci-sweep = { enable = true; ci.tokenFile = "/run/secrets/ci-token"; }; services.ccci-drone-runner.enable = true; } ]; in {
        svc = cfg.systemd.services.ccci-sweep-nightly;
        runnerPath = map (p: "\${p}") cfg.systemd.services.drone-runner-exec.path;
        wrapper = "\${cfg.services.ccci-sweep.wrapperPackage}";
      }`);
    expect(ev.runnerPath).not.toContain(ev.wrapper);
    expect(Object.keys(ev.svc.environment).filter((k) => k.startsWith('CCCI_CI') || k === 'CCCI_EXECUTOR')).toEqual([]);
    expect(ev.svc.serviceConfig).not.toHaveProperty('LoadCredential');
    expect(String(ev.svc.serviceConfig.ExecStart)).not.toContain('--ci-token-file');
  });

  it('a CI executor without its server, repo or token file is stopped at evaluation, naming the option', async () => {
    const err = await nixEvalError(`${prelude()}
      (checkHost [ baseHost (root + "/modules/ccci-sweep.nix") { services.ccci-sweep = { enable = true; executor = "woodpecker"; ci.repo = "7"; }; } ]).systemd.services`);
    expect(err).toContain('- services.ccci-sweep.executor = "woodpecker" needs services.ccci-sweep.ci.server');
    expect(err).toContain('- services.ccci-sweep.executor = "woodpecker" needs services.ccci-sweep.ci.tokenFile');
    expect(err).not.toContain('needs services.ccci-sweep.ci.repo');
  });
});
