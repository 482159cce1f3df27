// The promote gate: a pure function of what the harness run was. Only a green, cold run of a real release
// tag, whose compose label says that same version, may become the canonical.
import { parseRelease } from './version.js';

export interface GateInput {
  exitCode: number | null;
  /** The tag that was checked out and tested. */
  tag: string;
  /** Every release tag of the recipe (from upstream). */
  releaseTags: ReadonlySet<string>;
  /** Version label of the checked-out compose file, or null when absent/unreadable. */
  labelVersion: string | null;
  /** Why the label could not be read, when labelVersion is null. */
  labelProblem?: string;
  /** The run was a quick (warm) run, not a full cold test. */
  quick: boolean;
  /** A pull-request ref the run tested, if any. */
  prRef: string | null;
}

export type GateResult = { promote: true } | { promote: false; reason: string };

export function promoteGate(g: GateInput): GateResult {
  if (g.exitCode !== 0) return { promote: false, reason: `harness exited ${g.exitCode ?? 'by signal'}` };
  if (g.quick) return { promote: false, reason: 'quick run: only a cold run can promote' };
  if (g.prRef) return { promote: false, reason: `run tested pull request ref ${g.prRef}` };
  if (!parseRelease(g.tag) || !g.releaseTags.has(g.tag)) {
    return { promote: false, reason: `${g.tag} is not a release tag of the recipe` };
  }
  if (g.labelVersion === null) {
    return { promote: false, reason: g.labelProblem ?? 'compose file has no version label' };
  }
  if (g.labelVersion !== g.tag) {
    return { promote: false, reason: `compose version label ${g.labelVersion} does not match tag ${g.tag}` };
  }
  return { promote: true };
}
