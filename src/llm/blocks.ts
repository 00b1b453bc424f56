/**
 * Data in a prompt travels as delimited JSON blocks: `<name>` … `</name>`
 * around one JSON value. `<` is written as `\u003c` inside the JSON, so text
 * a customer typed can never close a block or open a new one; JSON.parse
 * restores it. The offline model reads the blocks back with `readJsonBlock`.
 */

export function jsonBlock(name: string, value: unknown): string {
  return `<${name}>\n${JSON.stringify(value).replace(/</g, "\\u003c")}\n</${name}>`;
}

/** The value of the first `<name>` block in `text`, or undefined if there is none or it is not JSON. */
export function readJsonBlock<T = unknown>(text: string, name: string): T | undefined {
  const open = `<${name}>`;
  const start = text.indexOf(open);
  if (start < 0) return undefined;
  const end = text.indexOf(`</${name}>`, start + open.length);
  if (end < 0) return undefined;
  try {
    return JSON.parse(text.slice(start + open.length, end)) as T;
  } catch {
    return undefined;
  }
}
