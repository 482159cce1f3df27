// The doctor's probe (pure): which harness tools it looks for, the script it runs through cc-ci-run, and
// the parsing of what that script prints (untrusted: validated field by field).
export interface HarnessTool {
  /** What the probe looks for: a command on PATH, or a module the harness's python3 can import. */
  tool: string;
  kind: 'command' | 'python-module';
  /**
   * Where nix/harness-env.nix takes it from. Commands: the nixpkgs attribute in `tools` (`python3` is
   * pyEnv = python3.withPackages). Python modules: the attribute in pyEnv's package list (`ps.<name>`).
   */
  nix: string;
}

/**
 * The harness tools, one probe each: the commands of every package in nix/harness-env.nix `tools` and the
 * Python modules of its pyEnv. test/doctor.test.ts checks this against the evaluated nix file both ways.
 */
export const HARNESS_TOOLS: readonly HarnessTool[] = [
  { tool: 'bash', kind: 'command', nix: 'bash' },
  { tool: 'git', kind: 'command', nix: 'git' },
  { tool: 'git-lfs', kind: 'command', nix: 'git-lfs' },
  { tool: 'script', kind: 'command', nix: 'util-linux' },
  { tool: 'docker', kind: 'command', nix: 'docker' },
  { tool: 'abra', kind: 'command', nix: 'abra' },
  { tool: 'curl', kind: 'command', nix: 'curl' },
  { tool: 'jq', kind: 'command', nix: 'jq' },
  { tool: 'openssl', kind: 'command', nix: 'openssl' },
  { tool: 'python3', kind: 'command', nix: 'python3' },
  { tool: 'ssh', kind: 'command', nix: 'openssh' },
  { tool: 'ls', kind: 'command', nix: 'coreutils' },
  { tool: 'ps', kind: 'command', nix: 'procps' },
  { tool: 'sed', kind: 'command', nix: 'gnused' },
  { tool: 'grep', kind: 'command', nix: 'gnugrep' },
  { tool: 'tar', kind: 'command', nix: 'gnutar' },
  { tool: 'gzip', kind: 'command', nix: 'gzip' },
  { tool: 'xz', kind: 'command', nix: 'xz' },
  { tool: 'awk', kind: 'command', nix: 'gawk' },
  { tool: 'find', kind: 'command', nix: 'findutils' },
  { tool: 'diff', kind: 'command', nix: 'diffutils' },
  { tool: 'which', kind: 'command', nix: 'which' },
  { tool: 'hostname', kind: 'command', nix: 'hostname-debian' },
  { tool: 'pytest', kind: 'python-module', nix: 'pytest' },
  { tool: 'playwright', kind: 'python-module', nix: 'playwright' },
];

/** The probe's JSON line starts with this, so anything else the wrapper prints is ignored. */
const PROBE_MARKER = 'CCCI_DOCTOR_PROBE ';

interface ProbeOutput {
  commands: Record<string, string | null>;
  pythonWhich: string | null;
  modules: Record<string, { path: string | null; error?: string }>;
  env: Record<string, string | null>;
}

/** The probe: plain Python 3, standard library only. The tool lists are JSON, which is also Python. */
export function probeScript(tools: readonly HarnessTool[] = HARNESS_TOOLS): string {
  const commands = tools.filter((t) => t.kind === 'command').map((t) => t.tool);
  const modules = tools.filter((t) => t.kind === 'python-module').map((t) => t.tool);
  return `# ccci-sweep doctor probe: where each harness tool resolves inside cc-ci-run's environment.
import importlib.util, json, os, shutil, sys

COMMANDS = ${JSON.stringify(commands)}
MODULES = ${JSON.stringify(modules)}

out = {"commands": {}, "pythonWhich": shutil.which("python3"), "modules": {}, "env": {}}
for c in COMMANDS:
    # python3 is the interpreter running this probe: the one cc-ci-run execs for every harness script.
    out["commands"][c] = (sys.executable or None) if c == "python3" else shutil.which(c)
for m in MODULES:
    try:
        spec = importlib.util.find_spec(m)
    except Exception as e:
        out["modules"][m] = {"path": None, "error": "%s: %s" % (type(e).__name__, e)}
        continue
    if spec is None:
        out["modules"][m] = {"path": None}
        continue
    where = spec.origin if spec.origin not in (None, "namespace") else None
    if where is None and spec.submodule_search_locations:
        where = list(spec.submodule_search_locations)[0]
    out["modules"][m] = {"path": where}
for k in ("PLAYWRIGHT_BROWSERS_PATH", "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"):
    out["env"][k] = os.environ.get(k)
print(${JSON.stringify(PROBE_MARKER)} + json.dumps(out), flush=True)
`;
}

export function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
}

export function parseProbe(stdout: string): ProbeOutput | null {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith(PROBE_MARKER));
  if (!line) return null;
  let v: unknown;
  try {
    v = JSON.parse(line.slice(PROBE_MARKER.length));
  } catch {
    return null;
  }
  // The probe runs inside the harness environment: its output is checked field by field, never cast.
  if (!isRecord(v) || !isRecord(v.commands) || !isRecord(v.modules) || !isRecord(v.env)) return null;
  if (!(v.pythonWhich === null || typeof v.pythonWhich === 'string')) return null;
  const strOrNull = (x: unknown) => x === null || typeof x === 'string';
  if (!Object.values(v.commands).every(strOrNull) || !Object.values(v.env).every(strOrNull)) return null;
  const moduleOk = (m: unknown) => isRecord(m) && strOrNull(m.path) && (m.error === undefined || typeof m.error === 'string');
  if (!Object.values(v.modules).every(moduleOk)) return null;
  return v as unknown as ProbeOutput;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
