/** Child-process plumbing for the benchmark: spawn, wait until ready, and always clean up. */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

const children = new Set<ChildProcess>();

/** Spawns a tracked child; {@link killAll} ends it whatever happens to the bench. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** SIGTERM (so a profiled gateway can write its profile), then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!hasExited(child)) child.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

export async function killAll(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child)));
}

/** Last resort on a synchronous exit path: no waiting, only SIGKILL to each child we started. */
export function killAllSync(): void {
  for (const child of children) if (!hasExited(child)) child.kill('SIGKILL');
}

/**
 * Whatever happens (an exception, Ctrl-C, a hang past `watchdogMs`), no child outlives the bench,
 * and the temp dir `tempDir()` names when it exits goes with it.
 */
export function guardBenchProcess(watchdogMs: number, tempDir: () => string | undefined): NodeJS.Timeout {
  process.once('exit', () => {
    killAllSync();
    const dir = tempDir();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping children`);
      process.exit(130);
    });
  }
  const watchdog = setTimeout(() => {
    console.error(`bench still running after ${watchdogMs / 1000} s: giving up`);
    process.exit(1);
  }, watchdogMs);
  watchdog.unref();
  return watchdog;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Rejects when the child exits before `ready` settles, with the tail of its stderr. */
export function failOnEarlyExit(child: ChildProcess, name: string, stderrTail: () => string): Promise<never> {
  return new Promise((_, reject) => {
    child.once('exit', (code, signal) =>
      reject(new Error(`${name} exited early (code ${code}, signal ${signal})\n${stderrTail()}`)),
    );
  });
}

/** Polls GET `url` until it answers 200, or fails after `timeoutMs`. */
export async function waitForHttpOk(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    const status = await new Promise<number | string>((resolve) => {
      const req = http.get(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', (error) => resolve((error as NodeJS.ErrnoException).code ?? String(error)));
      req.setTimeout(1_000, () => req.destroy(new Error('timeout')));
    });
    if (status === 200) return;
    lastError = String(status);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${lastError})`);
}

/** Keeps the last `max` characters of a stream, for error messages. */
export function tail(stream: NodeJS.ReadableStream | null | undefined, max = 4_000): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-max);
  });
  return () => text;
}

let clockTicks: number | undefined;

/** CPU time (user + system) a process has used so far, in ms; undefined where /proc is missing. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}

/** The whole machine's busy CPU time so far (all CPUs, steal included), in ms, from /proc/stat. */
export function machineBusyCpuMs(): number | undefined {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal ...
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}
