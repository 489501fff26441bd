export { bodySizeLimit, type BodySizeLimitOptions } from './bodySizeLimit';
export { openAiErrorResponder } from './openAiErrorResponder';
export { publishMetrics } from './publishMetrics';
