// The web page and Swagger UI under the service's Content-Security-Policy, in Debian's
// Chromium: they work and the browser reports no violation. Skipped, with a message, where
// Chromium is not installed.
import { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { startApp } from '../support/app';
import { sqliteDatabase, TestDatabase } from '../support/databases';

const CHROMIUM = '/usr/bin/chromium';

if (!existsSync(CHROMIUM)) {
  console.warn(`${CHROMIUM} is missing: the Content-Security-Policy browser test is skipped`);
}

(existsSync(CHROMIUM) ? describe : describe.skip)('pages under the Content-Security-Policy', () => {
  let database: TestDatabase;
  let app: NestExpressApplication;
  let context: BrowserContext;
  let page: Page;
  let baseUrl: string;
  let profile: string;
  const violations: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    database = sqliteDatabase();
    app = await startApp(database);
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    profile = mkdtempSync(join(tmpdir(), 'shardplan-csp-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    // Every violation the browser reports, from the first script on.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        (window as unknown as { violations: string[] }).violations ??= [];
        (window as unknown as { violations: string[] }).violations.push(
          `${event.violatedDirective} ${event.blockedURI}`,
        );
      });
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
  });

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await database?.remove();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const reported = () =>
    page.evaluate(() => (window as unknown as { violations?: string[] }).violations ?? []);

  it('the planner page loads, plans and charts with no violation', async () => {
    await page.goto(`${baseUrl}/`);
    await page.waitForSelector('body[data-ready="true"]');
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/plans/estimate'));
    await page.click('#estimate');
    expect((await answer).status()).toBe(200);
    await page.waitForFunction(
      () => (window as unknown as { shardplan: { lastResult?: unknown } }).shardplan.lastResult,
    );
    expect(await reported()).toEqual([]);
    expect(violations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('Swagger UI at /docs renders the operations with no violation', async () => {
    await page.goto(`${baseUrl}/docs`);
    await page.waitForSelector('.opblock', { timeout: 30_000 });
    expect(await reported()).toEqual([]);
    expect(violations).toEqual([]);
  });
});
