// How a recipe's mirror relates to upstream (pure type).
export type MirrorState = 'in-sync' | 'behind' | 'diverged' | 'unknown' | 'not-configured';
