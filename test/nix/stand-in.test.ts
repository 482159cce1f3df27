// The stand-in module evaluator (test/nix/stubs/lib.nix) must be strict enough that the module tests
// mean something: these are the NixOS behaviours they rely on.
import { describe, expect, it } from 'vitest';
import { nixEval, nixEvalError, prelude } from './helpers.js';

const opts = `{ lib, ... }: {
  options.demo = {
    enable = lib.mkEnableOption "demo";
    name = lib.mkOption { type = lib.types.str; default = "d"; };
    items = lib.mkOption { type = lib.types.listOf lib.types.str; default = [ ]; };
    fixed = lib.mkOption { type = lib.types.listOf lib.types.str; readOnly = true; };
  };
  config.demo.fixed = [ "one" ];
}`;

describe('stand-in evalModules', () => {
  it('merges lists, applies defaults and mkIf conditions that read config', async () => {
    const cfg = await nixEval<{ items: string[]; name: string; services: string[] }>(`${prelude()}
      let c = evalHost [ (${opts})
        ({ config, lib, ... }: { demo.items = [ "a" ]; demo.enable = true; })
        ({ config, lib, ... }: lib.mkIf config.demo.enable { demo.items = [ "b" ]; systemd.services.on = { }; })
        ({ config, lib, ... }: { config = lib.mkIf (!config.demo.enable) { systemd.services.off = { }; }; })
      ]; in { inherit (c.demo) items name; services = builtins.attrNames c.systemd.services; }`);
    expect(cfg.items.sort()).toEqual(['a', 'b']);
    expect(cfg.name).toBe('d');
    expect(cfg.services).toEqual(['on']);
  });

  it('lets mkForce win and rejects conflicting plain definitions', async () => {
    const forced = await nixEval<string>(`${prelude()}
      (evalHost [ (${opts}) { demo.name = "x"; } ({ lib, ... }: { demo.name = lib.mkForce "y"; }) ]).demo.name`);
    expect(forced).toBe('y');
    expect(await nixEvalError(`${prelude()}
      (evalHost [ (${opts}) { demo.name = "x"; } { demo.name = "y"; } ]).demo.name`)).toMatch(/conflicting definitions/);
  });

  it('rejects undeclared options, wrong types, unknown unit attributes and a second read-only definition', async () => {
    expect(await nixEvalError(`${prelude()} (evalHost [ (${opts}) { demo.nmae = "x"; } ]).demo.name`))
      .toMatch(/demo\.nmae' does not exist/);
    expect(await nixEvalError(`${prelude()} (evalHost [ (${opts}) { demo.name = 3; } ]).demo.name`))
      .toMatch(/not of type string/);
    expect(await nixEvalError(`${prelude()} (evalHost [ { systemd.services.x.wantedby = [ ]; } ]).systemd.services`))
      .toMatch(/not of type systemd service/);
    expect(await nixEvalError(`${prelude()} (evalHost [ (${opts}) { demo.fixed = [ "two" ]; } ]).demo.fixed`))
      .toMatch(/read-only/);
  });

  it('imports each module file once, however often it is imported', async () => {
    // ccci-sweep.nix and drone-runner.nix both import harness.nix; a second copy would declare its options twice.
    const tools = await nixEval<string[]>(`${prelude()}
      names (evalHost [ baseHost (root + "/modules/ccci-sweep.nix") (root + "/modules/drone-runner.nix") ]).ccci.harness.tools`);
    expect(tools.length).toBeGreaterThan(0);
    expect(await nixEvalError(`${prelude()}
      (evalHost [ (${opts}) (${opts}) ]).demo.name`)).toMatch(/declared more than once/);
  });

  it('orders list definitions by mkBefore / mkAfter, stably, as lib/modules.nix does', async () => {
    const items = await nixEval<string[]>(`${prelude()}
      (evalHost [ (${opts})
        ({ lib, ... }: { demo.items = lib.mkAfter [ "last" ]; })
        { demo.items = [ "a" ]; }
        ({ lib, ... }: { demo.items = lib.mkBefore [ "first" ]; })
        { demo.items = [ "b" ]; }
      ]).demo.items`);
    expect(items).toEqual(['first', 'a', 'b', 'last']);
  });

  it("models NixOS's service PATH: five packages appended, PATH from path, a second PATH a conflict", async () => {
    const svc = await nixEval<{ path: string[]; PATH: string }>(`${prelude()}
      let s = (evalHost [ { systemd.services.x.path = [ pkgs.git ]; } ]).systemd.services.x; in
      { path = names s.path; PATH = s.environment.PATH; }`);
    expect(svc.path).toEqual(['git', 'coreutils', 'findutils', 'gnugrep', 'gnused', 'systemd']);
    expect(svc.PATH.split(':').map((p) => p.replace('/nix/store/stand-in/', ''))).toEqual([
      'git/bin', 'coreutils/bin', 'findutils/bin', 'gnugrep/bin', 'gnused/bin', 'systemd/bin',
      'git/sbin', 'coreutils/sbin', 'findutils/sbin', 'gnugrep/sbin', 'gnused/sbin', 'systemd/sbin',
    ]);
    expect(await nixEvalError(`${prelude()}
      (evalHost [ { systemd.services.x = { path = [ pkgs.git ]; environment.PATH = "/usr/bin"; }; } ]).systemd.services.x`))
      .toMatch(/environment\.PATH' has conflicting definition values/);
  });

  it('fails on assertions like system.build.toplevel, and has no abra or nodejs_20', async () => {
    const err = await nixEvalError(`${prelude()}
      checkHost [ { assertions = [ { assertion = false; message = "set x.y"; } { assertion = true; message = "no"; } ]; } ]`);
    expect(err).toMatch(/Failed assertions:\s+- set x\.y/);
    expect(err).not.toMatch(/- no/);
    expect(await nixEvalError(`${prelude()} pkgs.abra`)).toMatch(/attribute 'abra' missing/);
    expect(await nixEvalError(`${prelude()} pkgs.nodejs_20`)).toMatch(/attribute 'nodejs_20' missing/);
  });
});
