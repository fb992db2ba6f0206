// The registry's marketplace in Chromium: search, open a plugin, read its README, see a
// yanked version marked, sign in and post a review; a hostile README shown inert; axe-core
// on every page. Prints one JSON line; exits 1 with the failures.
import { launch, shot, axe, env, check } from './harness.mjs';

const base = env('BASE_URL');
const failures = [];
const report = { axe: {}, steps: [] };
const { browser, page, problems } = await launch();

async function audit(name) {
  await shot(page, name);
  const violations = await axe(page);
  report.axe[name] = violations.length;
  for (const v of violations) failures.push(`${name}: ${v}`);
  report.steps.push(name);
}

try {
  await page.goto(`${base}/`);
  check((await page.locator('h1').textContent()).includes('Find plugins'), 'home has its heading', failures);
  check(await page.locator('section:has(h2:text("Most downloaded")) li.card').count() > 0, 'home lists plugins', failures);
  await audit('01-home');

  await page.fill('#q', 'contacts');
  await Promise.all([page.waitForURL(/\/search\?q=contacts/), page.press('#q', 'Enter')]);
  const first = page.locator('ul.cards li.card h3 a').first();
  check((await first.textContent()) === 'CRM', `search ranks CRM first, got ${await first.textContent()}`, failures);
  await audit('02-search');

  await page.goto(`${base}/search?q=crn`);
  check((await page.locator('.suggestion a').textContent()) === 'crm', 'a typo gets "did you mean crm"', failures);

  await page.goto(`${base}/search?q=contacts`);
  await Promise.all([page.waitForURL(/\/plugins\/crm$/), page.click('ul.cards li.card h3 a >> text=CRM')]);
  check((await page.locator('article.readme h1').textContent()) === 'CRM for Plexica', 'README rendered', failures);
  check(await page.locator('article.readme img[src$="docs/pipeline.png"]').count() === 1, 'README image from the package', failures);
  check((await page.locator('tr.yanked').textContent()).includes('data loss on upgrade'), 'yanked version marked with its reason', failures);
  check((await page.locator('.trust.verified').count()) === 1, 'verified mark shown', failures);
  check((await page.locator('#install').inputValue()).startsWith('plexica tenant plugin install <tenant> crm'), 'install line', failures);
  await audit('03-plugin');

  await page.goto(`${base}/plugins/evil`);
  const readme = page.locator('article.readme');
  check((await readme.locator('script').count()) === 0, 'no script element in the hostile README', failures);
  check((await readme.locator('[onerror], [onclick], [onload]').count()) === 0, 'no event handler in the hostile README', failures);
  check((await readme.locator('a[href^="javascript:"]').count()) === 0, 'no javascript: link', failures);
  check((await readme.locator('svg, iframe, object, embed').count()) === 0, 'no svg, iframe, object or embed', failures);
  check((await page.evaluate(() => window.__pwned)) === undefined, 'nothing of the README ran', failures);
  check((await page.locator('h1').first().textContent()).includes('<b>Evil</b>'), 'a plugin name with HTML is shown as text', failures);
  await page.waitForTimeout(200);
  await audit('04-hostile-readme');

  await page.goto(`${base}/login`);
  await page.fill('#username', env('USERNAME'));
  await page.fill('#password', env('PASSWORD'));
  await Promise.all([page.waitForURL(/\/users\//), page.click('form.login button')]);
  await audit('05-signed-in');

  await page.goto(`${base}/plugins/crm`);
  await page.selectOption('#rating', '4');
  await page.fill('#text', 'Solid pipeline view; wish it had a calendar.');
  await Promise.all([page.waitForURL(/\/plugins\/crm$/), page.click('form.review-form button')]);
  const review = page.locator('li.review', { hasText: 'Solid pipeline view' });
  check((await review.count()) === 1, 'the review is shown', failures);
  check((await review.textContent()).includes('rated it 4 out of 5'), 'with its rating', failures);
  await audit('06-review');
} catch (error) {
  failures.push(`driver: ${error.stack}`);
} finally {
  await browser.close();
}
failures.push(...problems);
report.failures = failures;
console.log(JSON.stringify(report));
process.exit(failures.length ? 1 : 0);
