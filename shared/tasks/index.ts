export { DynamoTaskStore, taskKey, taskFromItem, taskToItem, claimTaskUpdate, settleTaskUpdate, cancelTaskUpdate, createTaskPut } from './DynamoTaskStore';
export { MemoryTaskStore } from './MemoryTaskStore';
export { classifyTaskFailure, planFailure, taskErrorOf, type FailureContext, type FailureKind, type FailurePlan } from './planFailure';
export { toTaskView, type Task, type TaskError, type TaskRef, type TaskView } from './Task';
export { taskNotCancellable, taskNotFound, taskQueueUnavailable } from './taskErrors';
export { isTaskId, randomTaskId, taskIdFor } from './taskId';
export type { TaskMessage, TaskQueue } from './TaskQueue';
export {
  MAX_RESULT_BYTES,
  TASK_OUTCOMES,
  TaskRunner,
  type ExecuteTask,
  type ExecuteTaskContext,
  type TaskDelivery,
  type TaskExecution,
  type TaskOutcome,
  type TaskRunnerOptions,
} from './TaskRunner';
export {
  mayHaveLostMessage,
  STALE_QUEUED_AFTER_MS,
  sweepStaleTasks,
  type SweepResult,
  type SweepStaleTasksOptions,
} from './sweepStaleTasks';
export { TaskService, type SubmitTaskInput, type SubmittedTask, type TaskList, type TaskServiceOptions } from './TaskService';
export type { TaskClaim, TaskPage, TaskSettlement, TaskStore } from './TaskStore';
export { FINISHED_STATUSES, TASK_PRIORITIES, TASK_STATUSES, type TaskPriority, type TaskStatus } from './taskStatus';
export { MAX_METADATA_BYTES, MAX_METADATA_KEYS, MAX_SUBMISSION_BYTES, parseTaskSubmission, taskSubmissionSchema, type TaskSubmission } from './taskSubmission';
