// What the sweep needs from a CI engine, whichever it is: create a build with variables, read it, read
// its logs, cancel it, and list recent builds (to adopt those a killed sweep left running).
import type { BuildPhase } from '../../core/executor-result.js';

export interface CiBuild {
  number: number;
  /** The engine's own status word (`pending`, `running`, `success`, `killed`, ...). */
  status: string;
  phase: BuildPhase;
  /** The build's page in the CI's web UI. */
  url: string;
  /** The variables it was created with (Drone: params; Woodpecker: variables). */
  vars: Record<string, string>;
}

export interface CiClient {
  readonly engine: 'drone' | 'woodpecker';
  /** Creates one build on the configured branch; throws CiError when no pipeline accepts it. */
  dispatch(vars: Record<string, string>): Promise<CiBuild>;
  get(number: number): Promise<CiBuild>;
  /** Every step's log lines, steps in order; steps without a stored log are skipped. */
  logs(number: number): Promise<string[]>;
  cancel(number: number): Promise<void>;
  /** The repo's most recent builds (newest first). */
  recent(): Promise<CiBuild[]>;
}

export const asVars = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  }
  return out;
};
