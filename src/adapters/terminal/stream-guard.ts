// Streams the sweep writes to must never end it: not a reader that went away, not a full disk.
export interface GuardedStream {
  write: (text: string) => void;
  /** The error that ended writing, or null while the stream works. */
  failed: () => NodeJS.ErrnoException | null;
}

const guards = new WeakMap<NodeJS.WritableStream, GuardedStream>();

/**
 * Makes a stream we write to (our stdout/stderr, a log file) survive its reader going away (EPIPE from
 * `| head`, EIO from a dropped terminal) or a full disk (ENOSPC): later writes are dropped, and nothing is
 * ever thrown or left as an unhandled 'error' event. One guard per stream, however often it is asked for.
 */
export function guardStream(stream: NodeJS.WritableStream): GuardedStream {
  const known = guards.get(stream);
  if (known) return known;
  let failure: NodeJS.ErrnoException | null = null;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    failure ??= err;
  });
  const guard: GuardedStream = {
    write: (text) => {
      if (failure) return;
      try {
        stream.write(text);
      } catch (err) {
        failure = err as NodeJS.ErrnoException;
      }
    },
    failed: () => failure,
  };
  guards.set(stream, guard);
  return guard;
}
