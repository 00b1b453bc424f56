/**
 * How the CLI ends and reports: exit codes, JSON on stdout, and errors in the
 * shape docs/cli.md documents. Light on purpose: `--help` and a usage error
 * load this and commander, while the tables (output.ts) come with a command.
 */
export const EXIT = { ok: 0, failure: 1, badInput: 2, stepLimit: 3 } as const;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printError(message: string, json: boolean, details: Record<string, unknown> = {}): void {
  if (json) process.stderr.write(`${JSON.stringify({ error: { message, ...details } })}\n`);
  else process.stderr.write(`shopstate: ${message}\n`);
}
