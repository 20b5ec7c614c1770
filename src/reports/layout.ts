import { escapeHtml } from './svg';

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{margin:0 0 4px}h2{margin:28px 0 8px;font-size:18px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
tr.breached td,tr.decision.rejected td,tr.decision.deploy-failed td{background:#fdecea}
figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}
.grid{stroke:#eee}.tick{font-size:11px;fill:#555}.legend,.rule-label{font-size:11px}.summary{color:#555}.signed{color:#2a7d2a;font-size:12px}
.features{display:flex;flex-wrap:wrap;gap:8px}.feature{border:1px solid #ddd;padding:8px;width:480px}.feature.breached{border-color:#d62728}
.empty,.hint,.nav{color:#777}
`;

/** A whole page: no scripts, no external resources. */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}
