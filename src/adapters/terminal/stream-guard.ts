// Streams the sweep writes to must never end it: not a reader that went away, not a full disk, and not a
// reader that stops reading (a paused pager on `run 2>&1 | less`): a pipe's writes queue in our memory.
export interface GuardedStream {
  write: (text: string) => void;
  /** The error that ended writing, or null while the stream works. */
  failed: () => NodeJS.ErrnoException | null;
  /** Lines dropped since the stream last drained (its reader is not reading). */
  dropped: () => number;
}

export interface GuardOptions {
  /**
   * Most bytes left queued for a reader that is not reading; beyond it lines are dropped and counted, and one
   * "N log lines dropped" line is written once the stream drains. Absent: nothing is dropped (stdout: the
   * report is bounded and must stay whole).
   */
  capBytes?: number;
  /** Names the stream in the dropped-lines note. */
  name?: string;
}

/** What may wait for a paused stderr reader: plenty for a burst, nothing like a harness's whole output. */
export const STDERR_CAP_BYTES = 1024 * 1024;

const guards = new WeakMap<NodeJS.WritableStream, GuardedStream>();

/**
 * Makes a stream we write to (our stdout/stderr, a log file) survive its reader going away (EPIPE from
 * `| head`, EIO from a dropped terminal) or a full disk (ENOSPC): later writes are dropped, and nothing is
 * ever thrown or left as an unhandled 'error' event. With `capBytes`, what waits for a slow reader is bounded.
 * One guard per stream, however often it is asked for (the first caller's options count).
 */
export function guardStream(stream: NodeJS.WritableStream, o: GuardOptions = {}): GuardedStream {
  const known = guards.get(stream);
  if (known) return known;
  let failure: NodeJS.ErrnoException | null = null;
  let dropped = 0;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    failure ??= err;
  });
  const queued = () => (stream as Partial<NodeJS.WriteStream>).writableLength ?? 0;
  const send = (text: string) => {
    try {
      stream.write(text);
    } catch (err) {
      failure = err as NodeJS.ErrnoException;
    }
  };
  if (o.capBytes !== undefined) {
    stream.on('drain', () => {
      if (failure || dropped === 0) return;
      const n = dropped;
      dropped = 0;
      send(`ccci-sweep: ${n} log line${n === 1 ? '' : 's'} dropped (${o.name ?? 'the output'} not read)\n`);
    });
  }
  const guard: GuardedStream = {
    write: (text) => {
      if (failure) return;
      if (o.capBytes !== undefined && queued() + Buffer.byteLength(text) > o.capBytes) {
        dropped++;
        return;
      }
      send(text);
    },
    failed: () => failure,
    dropped: () => dropped,
  };
  guards.set(stream, guard);
  return guard;
}
