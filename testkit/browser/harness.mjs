// What every browser test shares: Chromium from the system (CHROMIUM), screenshots under
// SHOTS, and an axe-core check that fails on any serious or critical violation.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/// Chromium with one page. `bypassCSP` (the default) lets the driver add script tags to pages
/// whose CSP forbids every script; pass `false` to test a page under its own policy (axe is
/// injected through DevTools evaluation, which the page's CSP does not govern).
export async function launch({ bypassCSP = true } = {}) {
  const browser = await chromium.launch({
    executablePath: env('CHROMIUM'),
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ bypassCSP, viewport: { width: 1280, height: 900 } });
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
/// axe is evaluated by the driver (not added as a <script>), so it runs under any CSP.
export async function axe(page) {
  if (!(await page.evaluate(() => typeof window.axe?.run === 'function'))) await page.evaluate(`${AXE}\n;void 0`);
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
