/**
 * An error caused by the user's input (bad file, bad flag, unsupported layer…).
 * The CLI prints its message on one line and exits with code 2, without a stack trace.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(message: string) {
    super(message);
  }
}

/**
 * Work that failed for a reason already reported (e.g. queue jobs that failed every attempt, each
 * listed with its error): the CLI prints the message on one line and exits with code 1.
 */
export class RunFailedError extends Error {
  override name = 'RunFailedError';
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof Error && e.name === 'UserError';
}

/** One line, for the terminal: the message of a UserError, or a short description of anything else. */
export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}
