/**
 * Debian's Chromium driven by playwright-core, as the browser tests run it. Playwright's own
 * browser download does not work offline, so the tests use /usr/bin/chromium
 * (scripts/install-chromium.sh installs it). A missing browser fails the test with that
 * command, it never skips it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';

/** Without the background-networking flags Chromium keeps trying Google's hosts, which an offline machine refuses. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface LaunchedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh Chromium with an empty profile (its own --user-data-dir, removed on close). */
export async function launchChromium(): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: run scripts/install-chromium.sh (Debian's chromium package), or point SLUICE_CHROMIUM at one`);
  }
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'sluice-chromium-'));
  // launchPersistentContext passes --user-data-dir itself (playwright refuses it in args)
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS, viewport: { width: 1500, height: 1300 } });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
