import type { Logger } from '@aws-lambda-powertools/logger';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { createLogger } from '../../shared/logging';

/** A real Powertools Logger whose every printed line is kept in memory instead of written out. */
export interface CapturedLogs {
  logger: Logger;
  /** Every line the logger printed, exactly as it would have reached stdout/stderr. */
  lines: string[];
  /** The lines parsed as JSON (Powertools prints one JSON object a line). */
  records(): Array<Record<string, unknown>>;
  text(): string;
}

/**
 * Powertools prints through a private `Console` built on process.stdout/stderr when the logger
 * is constructed; that one object is swapped for a Console on an in-memory stream, so the
 * formatting, levels and serialisation stay Powertools' own and nothing else is touched.
 */
export function capturingLogger(options: { logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'; serviceName?: string } = {}): CapturedLogs {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(line);
      callback();
    },
  });
  // Made as the gateway makes its loggers: every line redacted (shared/logging/createLogger.ts).
  const logger = createLogger({ serviceName: options.serviceName ?? 'breakwater-test', logLevel: options.logLevel ?? 'DEBUG' });
  const target = logger as unknown as { console?: unknown };
  if (typeof target.console !== 'object' || target.console === null) {
    throw new Error('Powertools Logger no longer keeps a `console` property: update capturingLogger');
  }
  target.console = new Console({ stdout: sink, stderr: sink });
  return {
    logger,
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => lines.join('\n'),
  };
}
