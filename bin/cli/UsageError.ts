/** Bad command-line usage: the CLI prints the message and the usage, and exits with 2. */
export class UsageError extends Error {
  readonly isUsageError = true;
  constructor(
    message: string,
    /** The usage text to print after the message. */
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export const isUsageError = (error: unknown): error is UsageError =>
  typeof error === 'object' && error !== null && (error as { isUsageError?: unknown }).isUsageError === true;
