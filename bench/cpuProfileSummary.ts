/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function, and inclusive
 * time by source (package or repo file), over the part of the profile that serves requests.
 * Usage: tsx bench/cpuProfileSummary.ts <file.cpuprofile> [topN] [requests served]
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Groups a frame by where its code lives: an npm package, a repo file, node's internals, or V8. */
export function sourceOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native/builtin)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const repo = url.indexOf('/work/main/');
  if (repo >= 0) return url.slice(repo + '/work/main/'.length);
  return url;
}

const shortUrl = (url: string) => {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const repo = url.indexOf('/work/main/');
  return repo >= 0 ? url.slice(repo + '/work/main/'.length) : url;
};

/**
 * Named costs to pull out of a gateway profile. `stack`: the sample counts if any frame on its
 * stack matches (inclusive). `leaf`: only the frames at the top of the stack count, up to the
 * first ordinary JS frame: right for bookkeeping such as async hooks, which run inside
 * everything (node's callbackTrampoline is on nearly every stack) but cost only at the top.
 */
interface Bucket {
  name: string;
  kind: 'stack' | 'leaf';
  match: (frame: CallFrame) => boolean;
}

const ASYNC_HOOK_LEAVES = new Set(['registerDestroyHook', 'queueDestroyAsyncId', 'emitInit', 'emitBefore', 'emitAfter', 'emitDestroy']);

export const GATEWAY_BUCKETS: readonly Bucket[] = [
  { name: 'socket writes (writev/write syscalls: kernel loopback TCP)', kind: 'leaf', match: (f) => !f.url && /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(f.functionName) },
  {
    name: 'async_hooks bookkeeping',
    kind: 'leaf',
    match: (f) =>
      (f.url === 'node:internal/async_hooks' && f.functionName !== 'callbackTrampoline') || (!f.url && ASYNC_HOOK_LEAVES.has(f.functionName)),
  },
  { name: 'Powertools Logger (log calls + injectLambdaContext)', kind: 'stack', match: (f) => /@aws-lambda-powertools\/(logger|commons)\//.test(f.url) },
  { name: 'Powertools Metrics', kind: 'stack', match: (f) => f.url.includes('@aws-lambda-powertools/metrics/') },
  { name: 'zod (request validation)', kind: 'stack', match: (f) => f.url.includes('/zod/') },
  { name: '@middy/core (the middleware runner itself)', kind: 'leaf', match: (f) => f.url.includes('/@middy/core/') },
  // The store (dynalite) runs in a process of its own under the bench: only the client side shows here.
  { name: 'AWS SDK clients (@aws-sdk, @smithy)', kind: 'stack', match: (f) => /\/(@aws-sdk|@smithy)\//.test(f.url) },
  { name: 'garbage collector', kind: 'leaf', match: (f) => f.functionName === '(garbage collector)' },
];

function inBucket(stack: readonly CallFrame[], bucket: Bucket): boolean {
  if (bucket.kind === 'stack') return stack.some(bucket.match);
  for (const frame of stack) {
    if (bucket.match(frame)) return true;
    const bookkeeping = !frame.url || frame.url === 'node:internal/async_hooks';
    if (!bookkeeping) return false;
  }
  return false;
}

export interface ProfileSummary {
  windowMs: number;
  busyMs: number;
  lines: string[];
}

/**
 * `windowFrom` names a source whose first sample opens the window (default: the local API
 * Gateway server, i.e. the first request), so module loading at start-up is left out.
 */
export function summarizeProfile(
  profile: CpuProfile,
  topN = 25,
  requests?: number,
  windowFrom = 'bin/local/apiGatewayServer.ts',
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const stacks = new Map<number, CallFrame[]>();
  const stackOf = (id: number): CallFrame[] => {
    let stack = stacks.get(id);
    if (!stack) {
      stack = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!.callFrame);
      stacks.set(id, stack);
    }
    return stack;
  };
  const bucketUs = new Map<string, number>(GATEWAY_BUCKETS.map((b) => [b.name, 0]));
  const stackSources = new Map<number, Set<string>>();
  const sourcesFor = (id: number): Set<string> => {
    let set = stackSources.get(id);
    if (set) return set;
    set = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) set.add(sourceOf(byId.get(at)!.callFrame));
    stackSources.set(id, set);
    return set;
  };

  const { samples, timeDeltas } = profile;
  let first = 0;
  while (first < samples.length && !sourcesFor(samples[first]!).has(windowFrom)) first++;
  if (first === samples.length) first = 0;

  const selfByFunction = new Map<string, number>();
  const selfBySource = new Map<string, number>();
  const inclusiveBySource = new Map<string, number>();
  let windowUs = 0;
  let idleUs = 0;
  for (let i = first; i < samples.length; i++) {
    // A sample's delta is the time since the previous one; the next delta is the time it stood for.
    const us = timeDeltas[i + 1] ?? timeDeltas[i] ?? 0;
    windowUs += us;
    const node = byId.get(samples[i]!)!;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const fnKey = `${frame.functionName || '(anonymous)'}  ${frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ''}`;
    selfByFunction.set(fnKey, (selfByFunction.get(fnKey) ?? 0) + us);
    const source = sourceOf(frame);
    selfBySource.set(source, (selfBySource.get(source) ?? 0) + us);
    for (const s of sourcesFor(node.id)) inclusiveBySource.set(s, (inclusiveBySource.get(s) ?? 0) + us);
    const stack = stackOf(node.id);
    for (const bucket of GATEWAY_BUCKETS) if (inBucket(stack, bucket)) bucketUs.set(bucket.name, bucketUs.get(bucket.name)! + us);
  }
  const busyUs = windowUs - idleUs;
  const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
  const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);

  const perRequest = (us: number) => (requests ? `${(us / requests).toFixed(1).padStart(6)} µs/req` : '');
  const lines = [
    `profile window: ${(windowUs / 1000).toFixed(0)} ms, of which busy (not idle) ${(busyUs / 1000).toFixed(0)} ms` +
      (requests ? ` = ${(busyUs / requests).toFixed(1)} µs of CPU per request over ${requests} requests (profiler overhead included)` : ''),
    '',
    'named costs (% of busy; a sample can fall in more than one):',
    ...[...bucketUs].map(([name, us]) => `  ${pct(us)} ${ms(us)} ${perRequest(us)}  ${name}`),
    '',
    'self time by source (% of busy):',
    ...top(selfBySource, topN).map(([name, us]) => `  ${pct(us)} ${ms(us)}  ${name}`),
    '',
    'inclusive time by source (stack contains it, % of busy):',
    ...top(inclusiveBySource, topN).map(([name, us]) => `  ${pct(us)} ${ms(us)}  ${name}`),
    '',
    `top ${topN} functions by self time:`,
    ...top(selfByFunction, topN).map(([name, us]) => `  ${pct(us)} ${ms(us)}  ${name}`),
  ];
  return { windowMs: windowUs / 1000, busyMs: busyUs / 1000, lines };
}

export async function summarizeProfileFile(file: string, topN?: number, requests?: number): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, topN, requests);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/cpuProfileSummary.ts <file.cpuprofile> [topN] [requests served]');
    process.exit(2);
  }
  const requests = process.argv[4] ? Number(process.argv[4]) : undefined;
  const summary = await summarizeProfileFile(file, Number(process.argv[3] ?? 25), requests);
  console.log(summary.lines.join('\n'));
}
