// `doctor`'s report as text (pure).
import { table } from './report.js';

export interface DoctorCheck { name: string; ok: boolean; detail: string }
export interface ToolProbe { tool: string; path: string | null; ok: boolean; detail?: string }
export interface DoctorReport { ok: boolean; checks: DoctorCheck[]; tools: ToolProbe[]; ccciRun: string | null }

export function renderDoctor(r: DoctorReport): string {
  let out = table(['CHECK', 'OK', 'DETAIL'], r.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAIL', c.detail]));
  out += '\n';
  if (r.tools.length > 0) {
    out += table(['TOOL', 'PATH', 'DETAIL'], r.tools.map((t) => [t.tool, t.path ?? 'MISSING', t.detail ?? '']));
  } else {
    out += r.ccciRun ? 'tools: the probe did not report (see the probe check)\n' : 'tools: not probed (cc-ci-run did not resolve)\n';
  }
  out += `\n${r.ok ? 'ok: configuration and harness environment look right' : 'FAIL: see the rows marked FAIL / MISSING'}\n`;
  return out;
}
