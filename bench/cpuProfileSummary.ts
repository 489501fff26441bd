/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function, and inclusive
 * time by source (package or repo file), over the part of the profile that serves requests.
 * Usage: tsx bench/cpuProfileSummary.ts <file.cpuprofile> [topN]
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

export interface ProfileSummary {
  windowMs: number;
  busyMs: number;
  lines: string[];
}

/**
 * `windowFrom` names a source whose first sample opens the window (default: the local API
 * Gateway server, i.e. the first request), so module loading at start-up is left out.
 */
export function summarizeProfile(profile: CpuProfile, topN = 25, windowFrom = 'bin/local/apiGatewayServer.ts'): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
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
  }
  const busyUs = windowUs - idleUs;
  const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
  const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);

  const lines = [
    `profile window: ${(windowUs / 1000).toFixed(0)} ms, of which busy (not idle) ${(busyUs / 1000).toFixed(0)} ms`,
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

export async function summarizeProfileFile(file: string, topN?: number): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, topN);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/cpuProfileSummary.ts <file.cpuprofile> [topN]');
    process.exit(2);
  }
  const summary = await summarizeProfileFile(file, Number(process.argv[3] ?? 25));
  console.log(summary.lines.join('\n'));
}
