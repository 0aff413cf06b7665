/**
 * Exit codes are a public interface ("Interfaces that other tools will script
 * against"): scripts branch on them, so each failure class maps to exactly one code.
 */
export const EXIT = {
  ok: 0,
  /** The hub answered with an error, the hub could not be reached, or its answer was malformed. */
  failure: 1,
  /** The command line itself was wrong (unknown option, bad duration, missing confirmation). */
  usage: 2,
  /** Not logged in, login expired, or the hub rejected the credentials (HTTP 401). */
  auth: 3,
  /** Ctrl-C at a prompt, as a shell reports SIGINT. */
  cancelled: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every error the CLI reports; main prints `pifleet: <message>` on one line and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

export const LOGIN_HINT = 'run: pifleet login';

export class AuthError extends CliError {
  constructor(message: string, hint = true) {
    super(hint ? `${message}; ${LOGIN_HINT}` : message, EXIT.auth);
  }
}

/**
 * An error body `{code, message}` from the hub; `code` is the hub's stable error code. `details`
 * is whatever structured detail the hub added (e.g. the ComposeError[] of `invalid_compose`),
 * unvalidated: a command that uses it parses it for itself.
 */
export class HubError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message, EXIT.failure);
  }
}

/** Error messages must stay on one line even when the hub or the OS put newlines in them. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
