import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Benches run each server (storage, identity provider, credman hosts) in its own process, so
// that the process measuring is not also the one being measured.

export interface Child {
  process: ChildProcess;
  port: number;
  /** What the child printed up to the line that said it was ready. */
  output: string;
  stop(): Promise<void>;
}

/** Starts `node <argv>` and resolves once its output matches `ready` (group 1: the port). */
export function spawnChild(argv: string[], env: Record<string, string>, ready: RegExp): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start:\n${out}`)), 30_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = ready.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve({
        process: child,
        port: Number(m[1]),
        output: out,
        stop: () =>
          new Promise<void>((ok) => {
            if (child.exitCode !== null) return ok();
            child.once('exit', () => ok());
            child.kill('SIGINT');
          }),
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}:\n${out}`)));
  });
}

/** Runs a bench in a scratch folder; every child it started is stopped and the folder removed, whatever happens. */
export function runBench(name: string, body: (work: string, children: Child[]) => Promise<void>): void {
  const work = mkdtempSync(join(tmpdir(), `credman-bench-${name}-`));
  const children: Child[] = [];
  body(work, children)
    .finally(async () => {
      await Promise.all(children.map((c) => c.stop()));
      rmSync(work, { recursive: true, force: true });
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
