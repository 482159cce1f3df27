// A loopback stand-in for a Drone 2.x server with its exec runner, or a Woodpecker server with a local
// agent, written from their API documentation (docs.drone.io/api/builds, woodpecker's server/api). It
// keeps builds in memory, runs at most `capacity` at once (the rest wait `pending`, first in first out),
// and runs each build's one step as the runners do: a shell whose environment is the build's parameters,
// here `ccci-sweep worker` (the REAL built CLI). Drone's cancel SIGKILLs that shell alone, as the exec
// runner does; Woodpecker's kills the step's process group. Every request is recorded, and events
// (created, started, ended, cancelled) let tests wait for what happened instead of sleeping.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCiOptions {
  engine: 'drone' | 'woodpecker';
  token: string;
  /** Drone `owner/name`; Woodpecker's repo id is 7 and its full name this. */
  repo: string;
  /** Environment of every step (the runner host's: PATH, HOME, the sweep's settings). */
  stepEnv: Record<string, string>;
  /** The step's shell command; default runs `node <bin> worker`. */
  stepCommand?: (vars: Record<string, string>) => string;
  bin: string;
  capacity?: number;
  /** false: no pipeline accepts the custom/manual event (Drone answers null, Woodpecker 204). */
  accepts?: boolean;
}

export interface FakeBuild {
  number: number;
  status: string;
  vars: Record<string, string>;
  output: string[];
  exitCode: number | null;
  proc: ChildProcess | null;
  cancelled: boolean;
}

export const WOODPECKER_REPO_ID = 7;

export class FakeCi extends EventEmitter {
  readonly builds = new Map<number, FakeBuild>();
  readonly requests: { method: string; url: string; auth: string | undefined; body: string }[] = [];
  /** Most builds running at once, ever. */
  maxRunning = 0;
  accepts: boolean;
  /** When set, reading one build answers this HTTP status (a revoked token, a deleted build). */
  refuseReads: number | null = null;
  private queue: FakeBuild[] = [];
  private server: http.Server;
  url = '';

  constructor(private o: FakeCiOptions) {
    super();
    this.accepts = o.accepts ?? true;
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
        try {
          this.handle(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x'), body, res);
        } catch (err) {
          res.writeHead(500).end(String(err));
        }
      });
    });
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const b of this.builds.values()) if (b.proc && b.exitCode === null) this.kill(b);
    await new Promise((r) => this.server.close(r));
  }

  /** Resolves when build `n` reaches `event` (or already has). */
  async waitFor(event: 'created' | 'started' | 'ended', n: number): Promise<FakeBuild> {
    const b = this.builds.get(n);
    const reached = b && (event === 'created' || (event === 'started' && b.proc) || (event === 'ended' && this.ended(b)));
    if (reached) return b;
    for (;;) {
      const [got] = (await once(this, event)) as [FakeBuild];
      if (got.number === n) return got;
    }
  }

  private ended(b: FakeBuild): boolean {
    return !['pending', 'running'].includes(b.status);
  }

  private json(res: http.ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
  }

  private handle(method: string, u: URL, body: string, res: http.ServerResponse): void {
    if (this.o.token && `Bearer ${this.o.token}` !== this.requests.at(-1)!.auth) return this.json(res, 401, { message: 'Unauthorized' });
    const p = u.pathname;
    if (this.o.engine === 'drone') {
      const base = `/api/repos/${this.o.repo}/builds`;
      if (method === 'POST' && p === base) {
        if (!this.accepts) return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('null');
        const vars: Record<string, string> = {};
        for (const [k, v] of u.searchParams) if (!['branch', 'commit', 'access_token'].includes(k) && !(k in vars)) vars[k] = v;
        return this.json(res, 200, this.droneBuild(this.create(vars)));
      }
      if (method === 'GET' && p === base) return this.json(res, 200, [...this.builds.values()].reverse().map((b) => this.droneBuild(b)));
      const m = p.slice(base.length).match(/^\/(\d+)(?:\/logs\/(\d+)\/(\d+))?$/);
      const b = m ? this.builds.get(Number(m[1])) : undefined;
      if (!m || !b) return this.json(res, 404, { message: 'Not Found' });
      if (m[2]) {
        // Stored when the step ends; 404 before (and for a step that does not exist).
        if (m[2] !== '1' || m[3] !== '1' || !this.ended(b) || b.proc === null) return this.json(res, 404, { message: 'Not Found' });
        return this.json(res, 200, b.output.map((out, pos) => ({ pos, out: `${out}\n`, time: 0 })));
      }
      if (method === 'GET' && this.refuseReads) return this.json(res, this.refuseReads, { message: 'refused' });
      if (method === 'GET') return this.json(res, 200, this.droneBuild(b));
      if (method === 'DELETE') {
        this.cancel(b);
        return this.json(res, 200, this.droneBuild(b));
      }
      return this.json(res, 405, {});
    }
    // Woodpecker
    if (method === 'GET' && p === `/api/repos/lookup/${this.o.repo}`) return this.json(res, 200, { id: WOODPECKER_REPO_ID, full_name: this.o.repo });
    const base = `/api/repos/${WOODPECKER_REPO_ID}`;
    if (method === 'POST' && p === `${base}/pipelines`) {
      const opts = JSON.parse(body) as { branch?: string; variables?: Record<string, string> };
      if (!this.accepts) return void res.writeHead(204).end();
      return this.json(res, 200, this.wpPipeline(this.create(opts.variables ?? {})));
    }
    if (method === 'GET' && p === `${base}/pipelines`) return this.json(res, 200, [...this.builds.values()].reverse().map((b) => this.wpPipeline(b)));
    let m = p.match(new RegExp(`^${base}/pipelines/(\\d+)(/cancel)?$`));
    if (m) {
      const b = this.builds.get(Number(m[1]));
      if (!b) return this.json(res, 404, {});
      if (m[2] && method === 'POST') {
        this.cancel(b);
        return void res.writeHead(204).end();
      }
      return this.json(res, 200, this.wpPipeline(b));
    }
    m = p.match(new RegExp(`^${base}/logs/(\\d+)/(\\d+)$`));
    if (m) {
      const b = this.builds.get(Number(m[1]));
      if (!b || Number(m[2]) !== 1000 + b.number) return this.json(res, 404, {});
      return this.json(res, 200, b.output.map((l, line) => ({ id: line + 1, step_id: 1000 + b.number, time: 0, line, data: Buffer.from(`${l}\n`).toString('base64'), type: 0 })));
    }
    return this.json(res, 404, {});
  }

  private droneBuild(b: FakeBuild) {
    return {
      id: 100 + b.number, number: b.number, status: b.status, event: 'custom', ref: 'refs/heads/main', params: b.vars,
      stages: [{ number: 1, name: 'sweep', status: b.status, exit_code: b.exitCode ?? 0, steps: [{ number: 1, name: 'worker', status: b.status, exit_code: b.exitCode ?? 0 }] }],
    };
  }

  private wpPipeline(b: FakeBuild) {
    const state = b.status === 'killed' ? 'killed' : b.status;
    return {
      id: 200 + b.number, number: b.number, status: state, event: 'manual', branch: 'main', variables: b.vars,
      workflows: [{ id: 300 + b.number, pid: 1, name: 'sweep', state, children: [{ id: 1000 + b.number, pid: 2, ppid: 1, name: 'worker', state, exit_code: b.exitCode ?? 0 }] }],
    };
  }

  private create(vars: Record<string, string>): FakeBuild {
    const b: FakeBuild = { number: this.builds.size + 1, status: 'pending', vars, output: [], exitCode: null, proc: null, cancelled: false };
    this.builds.set(b.number, b);
    this.queue.push(b);
    this.emit('created', b);
    this.schedule();
    return b;
  }

  private running(): number {
    return [...this.builds.values()].filter((b) => b.status === 'running').length;
  }

  private schedule(): void {
    while (this.queue.length > 0 && this.running() < (this.o.capacity ?? 2)) this.run(this.queue.shift()!);
  }

  private run(b: FakeBuild): void {
    b.status = 'running';
    this.maxRunning = Math.max(this.maxRunning, this.running());
    const engineVars = this.o.engine === 'drone'
      ? { DRONE: 'true', DRONE_BUILD_NUMBER: String(b.number), DRONE_BUILD_LINK: `${this.url}/${this.o.repo}/${b.number}`, DRONE_BUILD_EVENT: 'custom' }
      : { CI: 'woodpecker', CI_PIPELINE_NUMBER: String(b.number), CI_PIPELINE_URL: `${this.url}/repos/${WOODPECKER_REPO_ID}/pipeline/${b.number}`, CI_PIPELINE_EVENT: 'manual' };
    // A shell that outlives its command (it echoes afterwards), as the exec runner's step script does.
    const cmd = this.o.stepCommand?.(b.vars) ?? `node '${this.o.bin}' worker`;
    const proc = spawn('/bin/sh', ['-c', `echo '+ ${cmd.replaceAll("'", '')}'; ${cmd}; rc=$?; echo "+ exit $rc"; exit $rc`], {
      env: { ...this.o.stepEnv, ...b.vars, ...engineVars },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.o.engine === 'woodpecker', // Woodpecker's local backend gives the step a process group
    });
    b.proc = proc;
    let partial = '';
    const onData = (c: Buffer) => {
      const parts = (partial + c.toString()).split('\n');
      partial = parts.pop()!;
      b.output.push(...parts);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => {
      if (partial) b.output.push(partial);
      b.exitCode = code;
      if (!b.cancelled) b.status = code === 0 ? 'success' : 'failure';
      this.emit('ended', b);
      this.schedule();
    });
    this.emit('started', b);
  }

  private kill(b: FakeBuild): void {
    try {
      if (this.o.engine === 'drone') b.proc!.kill('SIGKILL');
      else process.kill(-b.proc!.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  private cancel(b: FakeBuild): void {
    if (this.ended(b)) return;
    b.cancelled = true;
    if (b.status === 'pending') {
      this.queue = this.queue.filter((x) => x !== b);
      b.status = 'killed';
      this.emit('ended', b);
    } else {
      b.status = 'killed';
      this.kill(b);
    }
    this.emit('cancelled', b);
  }
}
