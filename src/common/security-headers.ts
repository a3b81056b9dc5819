// Standard response headers that stop browsers from sniffing, framing or leaking the service.
import type { NextFunction, Request, Response } from 'express';

/** The web page loads only its own scripts, styles and API (public/index.html, the modules in js/, app.css
 * and Chart.js from /vendor), and no page may frame it. */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Swagger UI at /docs writes inline styles and a small inline stylesheet. */
const DOCS_POLICY = PAGE_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");

export function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader(
    'Content-Security-Policy',
    req.path === '/docs' || req.path.startsWith('/docs/') ? DOCS_POLICY : PAGE_POLICY,
  );
  next();
}
