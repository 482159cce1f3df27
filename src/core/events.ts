// What the sweep tells a progress display as it goes: one event per recipe state change.
export type RecipeState = 'queued' | 'syncing' | 'testing' | 'done';

export interface SweepEvent {
  recipe: string;
  state: RecipeState;
  /** When it happened, ms since the epoch. */
  at: number;
  /** The release tag under test, once known. */
  tag?: string | null;
  /** With `done`: the recipe's outcome (skipped, promoted, red, ...). */
  outcome?: string;
  /** Median duration of this recipe's past harness runs, for an ETA; null when it has none. */
  expectedMs?: number | null;
}

export type SweepListener = (e: SweepEvent) => void;
