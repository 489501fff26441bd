import { Metrics } from '@aws-lambda-powertools/metrics';

/** One EMF line as Powertools writes it: `_aws` metadata, then dimension and metric values by name. */
export interface EmfLine {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

/**
 * Takes the EMF lines Powertools prints to stdout (JSON with an `_aws` key) out of the output,
 * parsed, and lets everything else through. The test script disables metrics
 * (POWERTOOLS_METRICS_DISABLED); {@link enabledMetrics} builds an instance that writes anyway.
 */
export function captureEmf(): { lines: EmfLine[]; restore(): void } {
  const lines: EmfLine[] = [];
  const original = process.stdout.write;
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (text.startsWith('{"_aws"')) {
      for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line) as EmfLine);
      return true;
    }
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  return { lines, restore: () => void (process.stdout.write = original) };
}

/** A Metrics instance that publishes whatever POWERTOOLS_METRICS_DISABLED says (read at construction). */
export function enabledMetrics(serviceName = 'breakwater-gateway'): Metrics {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  try {
    return new Metrics({ namespace: 'Breakwater/test', serviceName });
  } finally {
    if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  }
}

/** The dimension sets of a line, each as its sorted names joined by commas. */
export const dimensionSetsOf = (line: EmfLine) => line._aws.CloudWatchMetrics[0]!.Dimensions.map((set) => [...set].sort().join(','));

/** The metric names a line defines. */
export const metricNamesOf = (line: EmfLine) => line._aws.CloudWatchMetrics[0]!.Metrics.map((metric) => metric.Name);
