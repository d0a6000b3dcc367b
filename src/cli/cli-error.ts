/** Exit codes of sag (SPEC §16): 0 success, 1 failure, 2 usage error, 3 changes pending (diff). */
export const EXIT = { ok: 0, failure: 1, usage: 2, pending: 3 } as const;

/** A mistake in the command line: the message and the usage are printed, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** False for a missing setting, where the usage would say nothing new. */
    readonly showUsage = true,
  ) {
    super(message);
  }
}

/** A failure to report in a few lines on stderr, exit 1 (unreachable gateway, bad file, refused request). */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  constructor(
    message: string,
    /** Further lines: each problem of a file, each error of a refused body. */
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}
