import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { AttemptObserver } from '../routing';

/**
 * One X-Ray subsegment per upstream attempt, annotated so traces can be filtered by provider,
 * model and outcome. A no-op when tracing is off (locally, in tests).
 */
export function tracingAttemptObserver(tracer: Tracer): AttemptObserver {
  return {
    startAttempt(target, model, attempt) {
      if (!tracer.isTracingEnabled()) return () => {};
      const parent = tracer.getSegment();
      if (!parent) return () => {};
      const subsegment = parent.addNewSubsegment(`upstream ${target.providerName}`);
      subsegment.addAnnotation('provider', target.providerName);
      subsegment.addAnnotation('model', model);
      subsegment.addAnnotation('attempt', attempt);
      return (record) => {
        subsegment.addAnnotation('outcome', record.outcome);
        if (record.status !== undefined) subsegment.addAnnotation('status', record.status);
        if (record.outcome !== 'success') subsegment.addErrorFlag();
        subsegment.close();
      };
    },
  };
}
