/**
 * One base error for the whole project (after viem's BaseError): a short message, optional detail
 * lines, a hint that says what to do next, and the cause chain. The CLI prints `message`, the
 * details and the hint — never a stack trace — and exits 1.
 */
export interface FlockErrorOptions {
  /** Extra lines shown under the message (e.g. the first 50 validation errors). */
  details?: string[];
  /** What the user should do next. */
  hint?: string;
  cause?: unknown;
  /** Process exit code the CLI uses for this error (default 1). */
  exitCode?: number;
}

export class FlockError extends Error {
  override name = 'FlockError';
  readonly details: string[];
  readonly hint?: string;
  readonly exitCode: number;

  constructor(message: string, options: FlockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details ?? [];
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }

  /** The text a user sees: message, details, hint. */
  format(): string {
    const lines = [this.message, ...this.details.map((d) => `  ${d}`)];
    if (this.hint) lines.push(`---> HINT: ${this.hint}`);
    return lines.join('\n');
  }
}

/** A usage error: bad flags or arguments. The CLI exits 2. */
export class UsageError extends FlockError {
  override name = 'UsageError';
  constructor(message: string, options: Omit<FlockErrorOptions, 'exitCode'> = {}) {
    super(message, { ...options, exitCode: 2 });
  }
}

/** Message of any thrown value, without a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof FlockError) return err.format();
  if (err instanceof Error) return err.message;
  return String(err);
}
