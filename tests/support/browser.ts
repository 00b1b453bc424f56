import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";

/** Debian's chromium: `.ci/run` installs it when missing; nothing downloads a browser. */
export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_INSTALL = "apt-get update && apt-get install -y chromium";

/** Flags for a quiet, reproducible headless run (no GPU, no sandbox in containers, no background traffic). */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  /** A new page whose console errors and page errors are collected in `errors`. */
  newPage(): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  page: Page;
  /** Console errors, uncaught page errors and dialogs (a dialog is an injected script that ran). */
  errors: string[];
  dialogs: string[];
  /** Set before an action that asks for a confirmation the page itself shows (e.g. `confirm()`): that dialog is accepted and not counted. */
  expectConfirm: boolean;
}

/**
 * Launches Debian's chromium with a fresh profile. Fails (never skips) when it is
 * missing, with the command that installs it.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium. Install it with: ${CHROMIUM_INSTALL}`);
  const profile = mkdtempSync(join(tmpdir(), "shopstate-chromium-"));
  // A persistent context is the way to give chromium its own --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const watched: WatchedPage = { page, errors: [], dialogs: [], expectConfirm: false };
      page.on("console", (message: ConsoleMessage) => {
        if (message.type() === "error") watched.errors.push(`console: ${message.text()}`);
      });
      page.on("pageerror", (error) => watched.errors.push(`page error: ${error.message}`));
      // Name what failed to load (the console message does not say which URL).
      page.on("response", (response) => {
        if (response.status() >= 400) watched.errors.push(`HTTP ${response.status()}: ${response.url()}`);
      });
      page.on("dialog", (dialog) => {
        if (watched.expectConfirm && dialog.type() === "confirm") {
          watched.expectConfirm = false;
          void dialog.accept();
          return;
        }
        watched.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
        void dialog.dismiss();
      });
      return watched;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
