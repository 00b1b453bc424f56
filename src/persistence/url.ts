/** The URL without its password, for messages (in its own module: the CLI prints it without loading the PostgreSQL client). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "PostgreSQL (DATABASE_URL)";
  }
}
