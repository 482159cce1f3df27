// Logs go to stderr (stdout carries only the table or the JSON document). On a terminal they are readable
// lines; otherwise, and always under journald, pino's JSON lines. Every line passes through scrub(), so a
// secret registered here (the mirror token) can never be printed, whatever code path logs it.
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { guardStream, STDERR_CAP_BYTES } from './terminal/stream-guard.js';

export type { Logger };

const secrets = new Set<string>();

/** Remember a secret so that scrub() removes it from every log line, error message and report. */
export function registerSecret(value: string): void {
  if (value.length >= 4) secrets.add(value);
}

/** Every registered secret (for scrubbing byte streams such as harness.log, and the harness's environment). */
export function secretValues(): string[] {
  // Longest first: a secret that contains another (a webhook URL and its path) is scrubbed whole.
  return [...secrets].sort((a, b) => b.length - a.length);
}

export function scrub(text: string): string {
  let out = text;
  for (const s of secretValues()) out = out.split(s).join('***');
  return out;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Turns one pino JSON line into `HH:MM:SS level [recipe] msg key=value`. */
export function prettyLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { level, time, msg, recipe, pid: _pid, hostname: _host, ...rest } = rec;
  const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 19) : '';
  const lvl = (LEVEL_NAMES[level as number] ?? String(level)).padEnd(5);
  const who = typeof recipe === 'string' ? ` [${recipe}]` : '';
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${t} ${lvl}${who} ${String(msg ?? '')}${extra ? ` ${extra}` : ''}\n`;
}

export interface LogOptions {
  /** Force JSON (true) or readable (false); default: readable only on a terminal outside journald. */
  json?: boolean;
  level?: string;
  stream?: NodeJS.WritableStream;
  /** Where CCCI_LOG_LEVEL, CCCI_LOG_FORMAT (json|pretty) and JOURNAL_STREAM are read (the caller's environment, never process.env). */
  env: NodeJS.ProcessEnv;
}

export function createLogger(opts: LogOptions): Logger {
  const out = opts.stream ?? process.stderr;
  const env = opts.env;
  const isTty = (out as NodeJS.WriteStream).isTTY === true;
  const format = env.CCCI_LOG_FORMAT;
  const json = opts.json ?? (format === 'json' || (format !== 'pretty' && (!isTty || Boolean(env.JOURNAL_STREAM))));
  const level = opts.level ?? env.CCCI_LOG_LEVEL ?? 'info';
  // A log destination that fails (stderr closed, disk full) drops log lines; the sweep goes on.
  // A reader that stops reading costs at most STDERR_CAP_BYTES of queued lines; the rest are counted, dropped.
  const guarded = guardStream(out, { capBytes: STDERR_CAP_BYTES, name: out === process.stderr ? 'stderr' : 'the log' });
  const dest = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = scrub(chunk.toString());
      guarded.write(json ? line : prettyLine(line));
      done();
    },
  });
  return pino({ level, base: { pid: process.pid } }, dest);
}
