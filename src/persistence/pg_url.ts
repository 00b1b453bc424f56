/** A PostgreSQL URL as messages may show it (its own module so every PostgreSQL file can use it without an import cycle). */

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "PostgreSQL (DATABASE_URL)";
  }
}
