/** Everything written to process.stdout and process.stderr while it runs (passed through as well). */
export interface ProcessOutputCapture {
  chunks: string[];
  text(): string;
  restore(): void;
}

type Write = typeof process.stdout.write;

/**
 * Tees process.stdout/stderr: whatever anything in this process prints (the global console,
 * an SDK warning, a stray `console.log`) is recorded, and still reaches the terminal. A logger
 * with its own Console on these streams is caught too, since Console looks `write` up per call.
 */
export function captureProcessOutput(): ProcessOutputCapture {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    const original = originals[i]!;
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Write;
  });
  return {
    chunks,
    text: () => chunks.join(''),
    restore: () => {
      streams.forEach((stream, i) => {
        stream.write = originals[i]!;
      });
    },
  };
}
