/** Errors every layer may raise and the CLI maps to exit code 2 (bad input or bad usage). */
export class UsageError extends Error {
  override name = "UsageError";
}
