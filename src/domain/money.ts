/** Money is integer cents everywhere; this is the one place that formats it. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}$${groupThousands(Math.floor(abs / 100))}.${String(abs % 100).padStart(2, "0")}`;
}

/**
 * A whole number with US thousands separators ("1,234,567"), as
 * `toLocaleString("en-US")` writes it, but without Intl for safe integers:
 * Intl's first number format loads ICU's locale data, a visible part of a
 * short command's start (tests/domain.properties.test.ts checks they agree).
 */
function groupThousands(whole: number): string {
  if (!Number.isSafeInteger(whole)) return whole.toLocaleString("en-US");
  return String(whole).replace(/\B(?=(\d{3})+$)/g, ",");
}
