// Open a campaign report (runs/<id>/report/index.html) in headless Chromium and say what a reader sees:
// every image decoded (naturalWidth > 0), the visible text of every section, every link target. A full-page
// screenshot goes to test-artifacts/.
import { pathToFileURL } from 'node:url';
import { launchChromium } from './chromium';

export interface ReportInBrowser {
  images: { alt: string; complete: boolean; naturalWidth: number }[];
  sections: Record<string, string>;
  links: string[];
  title: string;
}

export async function openReport(file: string, screenshot: string): Promise<ReportInBrowser> {
  const b = await launchChromium();
  try {
    const { page } = b;
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const images = await page.$$eval('img', (imgs) =>
      Promise.all(
        imgs.map(async (i) => {
          await i.decode().catch(() => undefined); // a broken image rejects: naturalWidth stays 0
          return { alt: i.alt, complete: i.complete, naturalWidth: i.naturalWidth };
        }),
      ),
    );
    const sections = Object.fromEntries(
      await page.$$eval('section', (ss) => ss.map((s) => [s.id, ((s as HTMLElement).innerText ?? '').replace(s.querySelector('h2')?.textContent ?? '', '').trim()] as [string, string])),
    );
    const links = await page.$$eval('a[href]', (as) => as.map((a) => (a as HTMLAnchorElement).href));
    await page.screenshot({ path: screenshot, fullPage: true });
    return { images, sections, links, title: await page.title() };
  } finally {
    await b.close();
  }
}
