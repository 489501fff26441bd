export { executeRoute, executeStreamingRoute, RouteExecution, type AttemptObserver, type AttemptRecord, type RouteExecutorDeps, type RouteRequest, type RouteResult } from './executeRoute';
export { orderChildren, weightedOrder } from './orderChildren';
export { refuseUnsupported } from './refuseUnsupported';
export { breakerKey, leaves, targetKey, type GroupNode, type ResolvedRetry, type RouteNode, type TargetNode } from './routePlan';
