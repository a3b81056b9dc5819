// The web page in a real browser: Debian's Chromium driven by playwright-core against the real
// AppModule on a SQLite file of its own. Skipped, with a message, where Chromium is not installed.
import { INestApplication } from '@nestjs/common';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { PlanResult } from '../../src/engine';
import { startApp, temporaryDatabase } from '../support/app';

const CHROMIUM = '/usr/bin/chromium';
const DOCS = join(__dirname, '..', '..', 'docs');
const GIB = 1024 ** 3;
const BREAKDOWN_COMPONENTS = [
  'weights',
  'gradients',
  'optimizerStates',
  'masterWeights',
  'activations',
  'logitsAndLoss',
  'buffers',
  'runtimeOverhead',
];

/** The README's example: Llama-3-8B, full fine-tune, bf16-mixed AdamW, ZeRO-3 on 8 x A100-80GB. */
const EXAMPLE = {
  model: 'llama-3-8b',
  cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
  training: {
    method: 'full',
    precision: 'bf16-mixed',
    optimizer: 'adamw',
    sequenceLength: 4096,
    microBatchSize: 1,
    activationCheckpointing: 'none',
  },
  parallelism: { zeroStage: 3, tensorParallel: 1, pipelineParallel: 1, contextParallel: 1 },
};

/** What the page exposes on window.shardplan for tests and the console (Chart.js instances). */
interface ChartState {
  labels: string[];
  datasets: { key: string; data: (number | null)[] }[];
  stacked: boolean;
  capacity: number;
  capacityY: number;
  middleX: number;
  pixelRatio: number;
}

/** Reads a chart of the page ('plan' or 'compare') into plain data. */
function readChart(page: Page, name: 'plan' | 'compare'): Promise<ChartState> {
  return page.evaluate((chartName) => {
    interface ChartJs {
      data: { labels: string[]; datasets: { componentKey: string; data: (number | null)[] }[] };
      options: {
        scales: { y: { stacked: boolean } };
        plugins: { capacityLine: { value: number } };
      };
      scales: { y: { getPixelForValue(value: number): number } };
      chartArea: { left: number; right: number };
      currentDevicePixelRatio: number;
    }
    const chart = (window as unknown as { shardplan: { charts: Record<string, ChartJs> } })
      .shardplan.charts[chartName];
    const capacity = chart.options.plugins.capacityLine.value;
    return {
      labels: chart.data.labels,
      datasets: chart.data.datasets.map((d) => ({ key: d.componentKey, data: d.data })),
      stacked: chart.options.scales.y.stacked,
      capacity,
      capacityY: Math.round(chart.scales.y.getPixelForValue(capacity)),
      middleX: Math.round((chart.chartArea.left + chart.chartArea.right) / 2),
      pixelRatio: chart.currentDevicePixelRatio,
    };
  }, name);
}

const haveChromium = existsSync(CHROMIUM);
const describeInBrowser = haveChromium ? describe : describe.skip;
if (!haveChromium) {
  console.warn(
    `web page browser test SKIPPED: ${CHROMIUM} is absent (apt-get install -y chromium)`,
  );
}

describeInBrowser(
  `web page in Chromium${haveChromium ? '' : ` (skipped: ${CHROMIUM} not installed)`}`,
  () => {
    jest.setTimeout(120_000);

    let app: INestApplication;
    let database: { path: string; remove: () => void };
    let profile: string;
    let context: BrowserContext;
    let page: Page;
    let baseUrl: string;
    const pageErrors: string[] = [];

    /** What the API itself says for a request, to hold the page's figures against. */
    async function apiEstimate(body: unknown): Promise<PlanResult> {
      const response = await fetch(`${baseUrl}/api/v1/plans/estimate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as PlanResult;
    }

    /** The text the page shows for a byte figure: GiB, two decimals below 10 and one above. */
    function shownGiB(bytes: number): string {
      const value = bytes / GIB;
      return `${value.toFixed(Math.abs(value) < 10 ? 2 : 1)} GiB`;
    }

    beforeAll(async () => {
      database = temporaryDatabase();
      app = await startApp(database.path);
      await app.listen(0, '127.0.0.1');
      baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      profile = mkdtempSync(join(tmpdir(), 'shardplan-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1400, height: 1000 },
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (error) => pageErrors.push(error.message));
      mkdirSync(DOCS, { recursive: true });
    });

    afterAll(async () => {
      await context?.close();
      await app?.close();
      database?.remove();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });

    it('loads the page, the catalogs and the locally served chart library', async () => {
      await page.goto(`${baseUrl}/`);
      await page.waitForSelector('body[data-ready="true"]');
      expect(
        await page.evaluate(() => typeof (window as unknown as { Chart?: unknown }).Chart),
      ).toBe('function');
      const models = await page.$$eval('#model option', (options) =>
        options.map((o) => (o as HTMLOptionElement).value),
      );
      const gpus = await page.$$eval('#gpu option', (options) =>
        options.map((o) => (o as HTMLOptionElement).value),
      );
      expect(models).toEqual(expect.arrayContaining(['llama-3-8b', 'llama-2-70b', 'mixtral-8x7b']));
      expect(gpus).toEqual(expect.arrayContaining(['a100-80gb', 'h100-80gb', 'l40s']));
    });

    it('creates a plan through the form and charts every component against the capacity line', async () => {
      await page.selectOption('#model', EXAMPLE.model);
      await page.selectOption('#gpu', EXAMPLE.cluster.gpu);
      await page.fill('#nodes', '1');
      await page.fill('#gpus-per-node', '8');
      await page.selectOption('#method', 'full');
      await page.selectOption('#precision', 'bf16-mixed');
      await page.selectOption('#optimizer', 'adamw');
      await page.selectOption('#zero', '3');
      await page.fill('#tp', '1');
      await page.fill('#pp', '1');
      await page.fill('#cp', '1');
      await page.fill('#seq', '4096');
      await page.fill('#micro-batch', '1');
      await page.selectOption('#checkpointing', 'none');
      const answer = page.waitForResponse(
        (r) => r.url().endsWith('/api/v1/plans/estimate') && r.status() === 200,
      );
      await page.click('#estimate');
      await answer;
      await page.waitForFunction(() => {
        const state = (
          window as unknown as {
            shardplan: { lastResult?: { request: { parallelism: { zeroStage: number } } } };
          }
        ).shardplan;
        return state.lastResult?.request.parallelism.zeroStage === 3;
      });

      const expected = await apiEstimate(EXAMPLE);
      const perGpu = expected.memory.perGpu;
      expect(await page.textContent('[data-testid=peak]')).toContain(
        shownGiB(perGpu.deviceUsedBytes),
      );
      expect(await page.textContent('[data-testid=headroom]')).toContain(
        shownGiB(perGpu.headroomBytes),
      );
      expect(await page.textContent('[data-testid=fits-badge]')).toBe(
        perGpu.fits ? 'fits' : 'does not fit',
      );
      expect(await page.textContent('[data-testid=layout]')).toContain('DP 8 · TP 1 · PP 1 · CP 1');

      const chart = await readChart(page, 'plan');
      const keys = chart.datasets.map((d) => d.key);
      expect(keys).toEqual(expect.arrayContaining(BREAKDOWN_COMPONENTS));
      expect(chart.labels).toHaveLength(1); // no pipeline: one bar for every GPU
      for (const component of BREAKDOWN_COMPONENTS) {
        const dataset = chart.datasets.find((d) => d.key === component)!;
        const bytes = perGpu.breakdown[component as keyof typeof perGpu.breakdown] ?? 0;
        expect(dataset.data[0]).toBeCloseTo(bytes / GIB, 6);
      }
      // The stack is as tall as the device's use: allocator reserve fills reserved - allocated.
      const stackGiB = chart.datasets.reduce((sum, d) => sum + (d.data[0] ?? 0), 0);
      expect(stackGiB).toBeCloseTo(perGpu.deviceUsedBytes / GIB, 6);
      expect(chart.capacity).toBeCloseTo(perGpu.capacityBytes / GIB, 6);

      // The capacity line is drawn in red (dashed) across the plot at the capacity's height.
      const redPixels = await page.evaluate(
        ({ x, y, ratio }) => {
          const canvas = document.querySelector('#plan-chart') as HTMLCanvasElement;
          const context2d = canvas.getContext('2d')!;
          const strip = context2d.getImageData(
            Math.round((x - 20) * ratio),
            Math.round((y - 2) * ratio),
            Math.round(40 * ratio),
            Math.round(5 * ratio),
          ).data;
          let red = 0;
          for (let i = 0; i < strip.length; i += 4) {
            if (strip[i] > 150 && strip[i + 1] < 110 && strip[i + 2] < 110) red += 1;
          }
          return red;
        },
        { x: chart.middleX, y: chart.capacityY, ratio: chart.pixelRatio },
      );
      expect(redPixels).toBeGreaterThan(20);
      expect(pageErrors).toEqual([]);
      await page.screenshot({ path: join(DOCS, 'plan-view.png'), fullPage: false });
    });

    it('draws one bar per pipeline stage when the model is split', async () => {
      await page.fill('#pp', '2');
      await page.click('#estimate');
      await page.waitForFunction(
        () => document.querySelectorAll('#ranks-table tbody tr').length === 2,
      );
      const chart = await readChart(page, 'plan');
      expect(chart.labels).toEqual(['stage 0', 'stage 1']);
      for (const dataset of chart.datasets) expect(dataset.data).toHaveLength(2);
      await page.fill('#pp', '1');
      await page.click('#estimate');
      await page.waitForFunction(
        () => document.querySelectorAll('#ranks-table tbody tr').length === 1,
      );
    });

    it("shows the API's field error next to the field it names", async () => {
      await page.fill('#tp', '3');
      await page.click('#estimate');
      const error = await page.waitForSelector(
        '[data-field="parallelism.tensorParallel"] [data-testid=field-error]',
      );
      expect(await error.textContent()).toMatch(/tensorParallel \(3\)/);
      await page.fill('#tp', '1');
      await page.click('#estimate');
      await page.waitForSelector('[data-testid=field-error]', { state: 'detached' });
    });

    it('compares ZeRO stages 0-3 as grouped stacked bars', async () => {
      await page.click('#compare-zero');
      await page.waitForSelector('#compare:not([hidden])');
      const compare = await readChart(page, 'compare');
      expect(compare.labels).toHaveLength(4);
      expect(compare.datasets.map((d) => d.key)).toEqual(
        expect.arrayContaining(BREAKDOWN_COMPONENTS),
      );
      expect(compare.stacked).toBe(true);
      expect(compare.capacity).toBeCloseTo(80, 0);
      // Each stage shards more, so the per-GPU peak never grows from ZeRO-0 to ZeRO-3.
      const rows = await page.evaluate(() =>
        (
          window as unknown as { shardplan: { compareRows: { result: PlanResult }[] } }
        ).shardplan.compareRows.map((row) => row.result.memory.perGpu.deviceUsedBytes),
      );
      for (let stage = 1; stage < 4; stage++)
        expect(rows[stage]).toBeLessThanOrEqual(rows[stage - 1]);
      expect(await page.$$eval('#compare-table tbody tr', (trs) => trs.length)).toBe(4);
      await (await page.$('#compare'))!.screenshot({ path: join(DOCS, 'zero-compare.png') });
    });

    it('saves the plan with a name and tag, finds it in the list, and deletes it', async () => {
      await page.fill('#plan-name', 'browser: 8B on one A100 node');
      await page.fill('#plan-tags', 'browser-e2e, demo');
      await page.click('#save');
      const row = await page.waitForSelector(
        '[data-testid=saved-plan]:has-text("browser: 8B on one A100 node")',
      );
      expect(await row.textContent()).toContain('llama-3-8b');

      await page.fill('#tag-filter', 'browser-e2e');
      await page.waitForFunction(() =>
        document.querySelector('#export-csv')?.getAttribute('href')?.endsWith('tag=browser-e2e'),
      );
      await page.waitForSelector(
        '[data-testid=saved-plan]:has-text("browser: 8B on one A100 node")',
      );
      expect(await page.$$eval('[data-testid=saved-plan]', (rows) => rows.length)).toBe(1);

      await page.fill('#tag-filter', 'no-such-tag');
      await page.waitForSelector('#plans-table :text("No plans tagged")');

      await page.fill('#tag-filter', 'browser-e2e');
      await page.waitForSelector('[data-testid=saved-plan]');
      page.once('dialog', (dialog) => void dialog.accept());
      await page.click('[data-testid=saved-plan] [data-testid=delete-plan]');
      await page.waitForSelector('#plans-table :text("No plans tagged")');
      expect(pageErrors).toEqual([]);
    });

    it('searches layouts, sorts the table and opens a row as the plan', async () => {
      await page.selectOption('#search-objective', 'throughput');
      await page.click('#search');
      await page.waitForSelector('[data-testid=search-row]');
      const rows = await page.$$('[data-testid=search-row]');
      expect(rows.length).toBeGreaterThan(0);

      // Sorting by per-GPU peak, ascending then descending, orders the shown GiB figures.
      const peaks = () =>
        page.$$eval('[data-testid=search-row]', (trs) =>
          trs.map((tr) => parseFloat((tr.children[5] as HTMLElement).textContent ?? '')),
        );
      await page.click('#search-table th[data-sort=peak]');
      const ascending = await peaks();
      expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
      await page.click('#search-table th[data-sort=peak]');
      const descending = await peaks();
      expect(descending).toEqual([...descending].sort((a, b) => b - a));

      // Opening the smallest-peak layout puts its degrees in the form and shows its plan.
      await page.click('#search-table th[data-sort=peak]');
      const chosen = await page.evaluate(() => {
        interface Row {
          result: PlanResult;
        }
        const rows = (window as unknown as { shardplan: { searchRows: Row[] } }).shardplan
          .searchRows;
        return rows.reduce((a, b) =>
          b.result.memory.perGpu.deviceUsedBytes < a.result.memory.perGpu.deviceUsedBytes ? b : a,
        ).result;
      });
      await page.click('[data-testid=search-row] >> nth=0');
      expect(await page.inputValue('#tp')).toBe(String(chosen.layout.tensorParallel));
      expect(await page.inputValue('#pp')).toBe(String(chosen.layout.pipelineParallel));
      expect(await page.inputValue('#zero')).toBe(String(chosen.request.parallelism.zeroStage));
      expect(await page.textContent('[data-testid=peak]')).toContain(
        shownGiB(chosen.memory.perGpu.deviceUsedBytes),
      );
      expect(pageErrors).toEqual([]);
    });

    it('plans serving: the inference form charts the KV cache next to the weights', async () => {
      await page.selectOption('#workload', 'inference');
      await page.fill('#inf-batch', '16');
      await page.click('#estimate');
      await page.waitForSelector('[data-testid=max-batch]');
      const shown = await page.evaluate(
        () => (window as unknown as { shardplan: { lastResult: PlanResult } }).shardplan.lastResult,
      );
      expect(shown.request.workload).toBe('inference');
      expect(shown.request.inference?.batchSize).toBe(16);
      const chart = await readChart(page, 'plan');
      const kvCache = chart.datasets.find((d) => d.key === 'kvCache');
      expect(kvCache?.data[0]).toBeCloseTo((shown.memory.perGpu.breakdown.kvCache ?? 0) / GIB, 6);
      expect(kvCache?.data[0]).toBeGreaterThan(0);
      expect(chart.datasets.map((d) => d.key)).not.toContain('optimizerStates');
      expect(pageErrors).toEqual([]);
    });
  },
);
