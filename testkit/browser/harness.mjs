// What every browser test shares: Chromium from the system (CHROMIUM), screenshots under
// SHOTS, and an axe-core check that fails on any serious or critical violation.
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export async function launch() {
  const browser = await chromium.launch({
    executablePath: env('CHROMIUM'),
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  // The pages' CSP forbids every script; the test's own (axe) is let in by the driver only.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('dialog', async (dialog) => {
    problems.push(`a dialog opened: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return { browser, context, page, problems };
}

export async function shot(page, name) {
  await page.screenshot({ path: `${env('SHOTS')}/${name}.png`, fullPage: true });
}

/// Runs axe-core (WCAG 2 A and AA); returns the serious and critical violations.
export async function axe(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export function check(condition, message, failures) {
  if (!condition) failures.push(message);
}
