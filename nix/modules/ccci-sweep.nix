# services.ccci-sweep: the nightly and weekly canonical sweeps as oneshot services on timers, and a
# `ccci-sweep` command for admins that runs with exactly the services' environment.
#
# The services' tools are the harness environment: `path` is ccci.harness.tools, to which NixOS
# appends coreutils, findutils, gnugrep, gnused and systemd for every unit (nixos/lib/systemd-lib.nix).
# If a recipe test needs a tool, it belongs in nix/harness-env.nix, which cc-ci-run and the CI
# runners read too. Conventions follow nixpkgs' batch modules (restic, nix-gc, auto-upgrade).
{ config, lib, pkgs, utils, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf types literalExpression optional optionalAttrs;
  cfg = config.services.ccci-sweep;
  harness = config.ccci.harness;
  user = harness.user;

  cadences = [ "nightly" "weekly" ];
  unitName = cadence: "ccci-sweep-${cadence}";

  # StateDirectory= when the state dir is the default /var/lib one: systemd creates it for User=.
  defaultStateDir = "/var/lib/ci-warm";
  usesStateDirectory = cfg.stateDir == defaultStateDir;

  # systemd reads `%` in Environment=, LoadCredential= (and ExecStart=) as a specifier; NixOS writes
  # values as given. Operator strings (a percent-encoded mirror URL, a path) are escaped for the units;
  # the wrapper, a shell script, gets them unescaped.
  unitValue = lib.replaceStrings [ "%" ] [ "%%" ];

  # The environment of both services, of the admin wrapper and of `doctor` run through it. PATH is
  # added by NixOS from `path`.
  environment = harness.env // {
    HOME = config.users.users.${user}.home or "/var/empty";
    CCCI_REPO = cfg.ccciRepo;
    CCCI_STATE_DIR = cfg.stateDir;
    # The store path, not a PATH lookup: the sweep runs exactly the wrapper built from harness-env.
    CCCI_RUN = lib.getExe harness.package;
  }
  // optionalAttrs (cfg.recipesDir != null) { CCCI_RECIPES_DIR = cfg.recipesDir; }
  // optionalAttrs (cfg.mirrorUrl != null) { CCCI_MIRROR_URL = cfg.mirrorUrl; }
  // optionalAttrs usesCi ({ CCCI_EXECUTOR = cfg.executor; CCCI_CI_BRANCH = cfg.ci.branch; }
    // optionalAttrs (cfg.ci.server != null) { CCCI_CI_SERVER = cfg.ci.server; }
    // optionalAttrs (cfg.ci.repo != null) { CCCI_CI_REPO = cfg.ci.repo; });

  # Tests as builds of the host's CI engine (README: Running tests as CI builds).
  usesCi = cfg.executor != "local";
  # Credentials the services get: %d/<name> in the unit (systemd.exec(5) LoadCredential=).
  credentials = optional (cfg.mirrorTokenFile != null) "mirror-token:${unitValue cfg.mirrorTokenFile}"
    ++ optional (usesCi && cfg.ci.tokenFile != null) "ci-token:${unitValue cfg.ci.tokenFile}";

  execStart = cadence: lib.concatStringsSep " " (
    [
      (utils.escapeSystemdExecArgs [
        (lib.getExe cfg.package)
        "run"
        "--cadence"
        cadence
        # A run started while the other cadence holds the host lock waits for it instead of
        # exiting 3: Persistent= replays missed runs, not failed ones, so a lost run would wait a
        # whole period. Bounded by the same span as TimeoutStartSec, which ends it anyway.
        "--wait-lock"
        cfg.timeoutStart
      ])
    ]
    # %d is the unit's credentials directory, where LoadCredential= below puts the token. Naming it
    # explicitly keeps a mirror-token-file in the settings file from overriding the credential.
    ++ optional (cfg.mirrorTokenFile != null) "--mirror-token-file %d/mirror-token"
    ++ optional (usesCi && cfg.ci.tokenFile != null) "--ci-token-file %d/ci-token"
    ++ optional (cfg.extraArgs != [ ]) (utils.escapeSystemdExecArgs cfg.extraArgs)
  );

  # `ccci-sweep verify`: every canonical re-checked quickly through cc-ci-run, on its own timer (off by
  # default). It checks out clones, so it takes the host lock and waits for a running sweep like they do.
  verifyExecStart = lib.concatStringsSep " " (
    [ (utils.escapeSystemdExecArgs [ (lib.getExe cfg.package) "verify" "--wait-lock" cfg.timeoutStart ]) ]
    ++ optional (cfg.verify.extraArgs != [ ]) (utils.escapeSystemdExecArgs cfg.verify.extraArgs)
  );
  verifyService = let s = service "nightly"; in s // {
    description = "ccci-sweep verify of the recipe canonicals";
    after = [ "network-online.target" "docker.service" ];
    serviceConfig = s.serviceConfig // { ExecStart = verifyExecStart; };
  };

  service = cadence: {
    description = "ccci-sweep ${cadence} sweep of the recipe canonicals";
    after = [ "network-online.target" "docker.service" ]
      # Both timers can fire together (Persistent= catch-up after downtime): the weekly starts
      # after the nightly has finished. The other way round, --wait-lock covers it.
      ++ optional (cadence == "weekly") "${unitName "nightly"}.service";
    wants = [ "network-online.target" ];

    path = harness.tools;
    environment = lib.mapAttrs (_: unitValue) environment;

    # A deploy must not kill a sweep halfway through a harness run; the next timer run picks up
    # the new unit. Nor may removing the unit from the configuration stop a running sweep.
    restartIfChanged = false;
    unitConfig.X-StopOnRemoval = false;
  }
  # OnFailure=: the operator's alert when a sweep fails (not on 143: a stop is not a failure).
  // optionalAttrs (cfg.onFailure != [ ]) { inherit (cfg) onFailure; }
  // {

    serviceConfig = {
      Type = "oneshot";
      User = user;
      ExecStart = execStart cadence;
      # Oneshot services have no start timeout by default: a hung sweep would block its timer
      # for good. Includes any wait for the lock. On expiry systemd sends SIGTERM and the unit
      # fails with result "timeout".
      TimeoutStartSec = cfg.timeoutStart;
      # 143 is the sweep's exit after SIGTERM, i.e. after `systemctl stop` or shutdown: the sweep
      # stopped its harnesses and restored the clones, as asked. Not a failure (no OnFailure=
      # alert); a start timeout is still recorded as one (result "timeout").
      SuccessExitStatus = "143";
      # On stop only the sweep gets SIGTERM; it forwards it to each harness and waits for the
      # harness's teardown (up to --stop-grace each). Whatever is left after TimeoutStopSec is killed.
      KillMode = "mixed";
      TimeoutStopSec = cfg.stopTimeout;
    }
    // optionalAttrs usesStateDirectory {
      StateDirectory = lib.removePrefix "/var/lib/" defaultStateDir;
      StateDirectoryMode = "0750";
    }
    // optionalAttrs (credentials != [ ]) {
      # One credential stays a plain string (as before); two are a list, one LoadCredential= line each.
      LoadCredential = if builtins.length credentials == 1 then builtins.head credentials else credentials;
    };
  };

  timer = cadence: {
    description = "ccci-sweep ${cadence} timer";
    wantedBy = [ "timers.target" ];
    timerConfig = {
      Persistent = cfg.persistent;
      RandomizedDelaySec = cfg.randomizedDelaySec;
    } // cfg.${cadence}.timerConfig;
  };

  withTimer = lib.filter (c: cfg.${c}.timerConfig != null) cadences;
  forCadences = cs: f: lib.listToAttrs (map (c: lib.nameValuePair (unitName c) (f c)) cs);

  # The admin's `ccci-sweep`: the services' environment, with PATH as NixOS renders it for them
  # (like restic's createWrapper), so `ccci-sweep run --recipe gitea` by hand is the timer's run.
  # The mirror token is read from the host file (the services get it as a credential).
  wrapper = pkgs.writeShellApplication {
    name = "ccci-sweep";
    runtimeEnv = environment
      // { inherit (config.systemd.services.${unitName "nightly"}.environment) PATH; }
      // optionalAttrs (cfg.mirrorTokenFile != null) { CCCI_MIRROR_TOKEN_FILE = cfg.mirrorTokenFile; }
      // optionalAttrs (usesCi && cfg.ci.tokenFile != null) { CCCI_CI_TOKEN_FILE = cfg.ci.tokenFile; };
    text = ''
      if [ "$(id -un)" != ${lib.escapeShellArg user} ]; then
        echo "ccci-sweep: run this as ${user}, the user of the sweep services (sudo -u ${user} ccci-sweep ...)" >&2
        exit 2
      fi
      exec ${lib.getExe cfg.package} "$@"
    '';
  };
in
{
  imports = [ ./harness.nix ];

  options.services.ccci-sweep = {
    enable = mkEnableOption "the nightly and weekly ccci-sweep runs";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ../package.nix {
        inherit (cfg) nodejs npmDepsHash;
        npmRegistry = if cfg.npmRegistry != null then cfg.npmRegistry
          else throw "services.ccci-sweep.npmRegistry is not set: set it to the base URL of the npm registry to fetch the dependencies from (or set services.ccci-sweep.package)";
      };
      defaultText = literalExpression "pkgs.callPackage nix/package.nix { inherit (cfg) nodejs npmRegistry npmDepsHash; }";
      description = "The ccci-sweep package to use.";
    };

    nodejs = lib.mkPackageOption pkgs "nodejs" { };

    npmRegistry = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://npm.example.org";
      description = "Base URL of the npm registry the default package fetches its dependencies from. No default: the registry is the operator's choice.";
    };

    npmDepsHash = mkOption {
      type = types.str;
      default = lib.fakeHash;
      description = "Hash of the fetched npm dependencies. Leave the placeholder for the first build; it fails with `got: sha256-...`: put that value here.";
    };

    createWrapper = mkOption {
      type = types.bool;
      default = true;
      description = "Install `ccci-sweep` for admins, running with exactly the services' environment and cc-ci-run.";
    };

    ccciRepo = mkOption {
      type = types.str;
      default = "/etc/cc-ci";
      description = "Checkout of the cc-ci repo (tests/<recipe>/recipe_meta.py, harness scripts). Passed as CCCI_REPO.";
    };

    stateDir = mkOption {
      type = types.str;
      default = defaultStateDir;
      description = "Where canonicals, history and run logs live. Passed as CCCI_STATE_DIR. The default is the services' StateDirectory; another one is created by tmpfiles.";
    };

    recipesDir = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Local recipe clones. Null: the program's default, $ABRA_DIR/recipes (ccci.harness.abraDir).";
    };

    mirrorUrl = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://git.example.org/recipe-mirror/{recipe}.git";
      description = "Mirror repo URL template; {recipe} is replaced. Null skips mirror-sync.";
    };

    mirrorTokenFile = mkOption {
      # A string, never a path literal: a path would be copied into the world-readable store.
      type = types.nullOr types.str;
      default = null;
      example = "/run/secrets/ccci-mirror-token";
      description = "File on the host holding the mirror token, handed to the services with LoadCredential=.";
    };

    nightly.timerConfig = mkOption {
      type = types.nullOr (types.attrsOf types.anything);
      default = { OnCalendar = "*-*-* 02:00:00"; };
      description = "[Timer] settings of the nightly sweep (systemd.timer(5)); null: no timer.";
    };

    weekly.timerConfig = mkOption {
      type = types.nullOr (types.attrsOf types.anything);
      default = { OnCalendar = "Sun *-*-* 04:00:00"; };
      description = "[Timer] settings of the weekly sweep (systemd.timer(5)); null: no timer.";
    };

    persistent = mkOption {
      type = types.bool;
      default = true;
      description = "Persistent= of both timers: catch up on a run missed while the host was down.";
    };

    randomizedDelaySec = mkOption {
      type = types.str;
      default = "15min";
      description = "RandomizedDelaySec= of both timers.";
    };

    timeoutStart = mkOption {
      type = types.strMatching "([0-9]+(ms|s|m|h))+";
      default = "20h";
      description = "TimeoutStartSec= of both services, and how long a run waits for the other cadence's lock (--wait-lock). Written like 20h or 1h30m.";
    };

    stopTimeout = mkOption {
      type = types.str;
      default = "15min";
      description = "TimeoutStopSec= of both services: long enough for the sweep to forward SIGTERM and let running harnesses tear down.";
    };

    executor = mkOption {
      type = types.enum [ "local" "drone" "woodpecker" ];
      default = "local";
      description = "Where the sweeps test: `local` (on this host), or as builds of the cc-ci repo on the Drone or Woodpecker server (ci.*). Passed as CCCI_EXECUTOR.";
    };

    ci = {
      server = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "https://drone.example.org";
        description = "The CI server the builds are dispatched to (CCCI_CI_SERVER).";
      };
      repo = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "coop-cloud/cc-ci";
        description = "The cc-ci repo on the CI server: owner/name (Drone), or the repo id or owner/name (Woodpecker). CCCI_CI_REPO.";
      };
      branch = mkOption {
        type = types.str;
        default = "main";
        description = "Branch of the cc-ci repo whose sweep pipeline the builds run (CCCI_CI_BRANCH).";
      };
      tokenFile = mkOption {
        # A string, never a path literal: a path would be copied into the world-readable store.
        type = types.nullOr types.str;
        default = null;
        example = "/run/secrets/ccci-ci-token";
        description = "File on the host holding the CI API token (write access to the cc-ci repo), handed to the services with LoadCredential=.";
      };
    };

    runnerWorker = mkOption {
      type = types.bool;
      default = false;
      description = "Put `ccci-sweep` (the admin wrapper: the services' environment and settings) on the PATH of this host's CI runner (services.ccci-drone-runner or services.ccci-woodpecker-agent), so sweep builds dispatched to this host can run `ccci-sweep worker`.";
    };

    wrapperPackage = mkOption {
      type = types.package;
      readOnly = true;
      internal = true;
      default = wrapper;
      description = "The admin's `ccci-sweep` (the services' environment); the CI runner modules put it on their PATH for `ccci-sweep worker`.";
    };

    extraArgs = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "--jobs" "2" ];
      description = "Extra arguments appended to `ccci-sweep run` in the services.";
    };

    onFailure = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "notify-admins@%n.service" ];
      description = "Units started when a sweep or verify unit fails (systemd OnFailure=), e.g. one that mails `journalctl -u %i`. Exit 143 (stopped by systemctl stop or shutdown) is not a failure. Webhooks per recipe: `--notify` (extraArgs) or `notify` in the settings file.";
    };

    verify = {
      enable = mkEnableOption "a `ccci-sweep verify` of every canonical on its own timer (ccci-sweep-verify)";
      timerConfig = mkOption {
        type = types.attrsOf types.anything;
        default = { OnCalendar = "Sat *-*-* 04:00:00"; };
        description = "[Timer] settings of the verify (systemd.timer(5)); weekly by default.";
      };
      extraArgs = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "--metrics-file" "/var/lib/prometheus-node-exporter-text-files/ccci.prom" ];
        description = "Extra arguments appended to `ccci-sweep verify`.";
      };
    };
  };

  config = mkIf cfg.enable {
    ccci.harness.enable = true;
    assertions = map (o: {
      assertion = !usesCi || cfg.ci.${o} != null;
      message = "services.ccci-sweep.executor = \"${cfg.executor}\" needs services.ccci-sweep.ci.${o}";
    }) [ "server" "repo" "tokenFile" ];
    systemd.services = forCadences cadences service
      // optionalAttrs cfg.verify.enable { ccci-sweep-verify = verifyService; };
    systemd.timers = forCadences withTimer timer
      // optionalAttrs cfg.verify.enable {
        ccci-sweep-verify = {
          description = "ccci-sweep verify timer";
          wantedBy = [ "timers.target" ];
          timerConfig = { Persistent = cfg.persistent; RandomizedDelaySec = cfg.randomizedDelaySec; } // cfg.verify.timerConfig;
        };
      };
    systemd.tmpfiles.rules = lib.optional (!usesStateDirectory) "d ${unitValue cfg.stateDir} 0750 ${user} - -";
    environment.systemPackages = lib.optional cfg.createWrapper wrapper;
  };
}
