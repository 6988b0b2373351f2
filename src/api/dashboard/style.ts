/** The dashboard's and the API reference's stylesheet, served as /dashboard/app.css. */
export const DASHBOARD_CSS = `
:root { --bg: #0f1419; --panel: #171d24; --line: #263040; --text: #e6edf3; --muted: #8b98a8; --accent: #4da3ff;
  --ok: #3fb950; --warn: #d29922; --bad: #f85149; --p0: #f85149; --p1: #4da3ff; --p2: #8b98a8; color-scheme: dark; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; align-items: center; gap: 12px; padding: 12px 24px; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; letter-spacing: .5px; }
header nav { margin-left: auto; }
.keyform { display: flex; gap: 6px; margin-left: auto; } .keyform input { width: 200px; padding: 3px 8px; } .keyform button { padding: 3px 10px; }
.keyform + nav { margin-left: 12px; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
main { padding: 16px 24px 40px; max-width: 1400px; margin: 0 auto; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 0 0 8px; font-weight: 600; }
h3 { font-size: 13px; color: var(--muted); margin: 14px 0 4px; }
.muted { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin-bottom: 12px; }
.card, .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card.wide { grid-column: span 2; }
.card p { margin: 0; }
.big { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.panel { margin-bottom: 12px; }
.columns { display: grid; grid-template-columns: minmax(320px, 1fr) minmax(320px, 1.4fr); gap: 12px; }
@media (max-width: 900px) { .columns { grid-template-columns: 1fr; } .card.wide { grid-column: auto; } }
canvas { width: 100%; height: 220px; display: block; }
.legend { float: right; text-transform: none; letter-spacing: 0; font-weight: 400; }
.swatch { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; border-radius: 2px; vertical-align: -1px; }
.swatch.bars { background: var(--ok); } .swatch.line { background: var(--accent); }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
tbody tr:hover { background: #1d2530; }
.pill, .status, .advice, .prio { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: var(--line); }
.pill[data-state="live"] { background: #1f3d2a; color: var(--ok); } .pill[data-state="offline"] { background: #3d1f1f; color: var(--bad); }
.status.succeeded { color: var(--ok); } .status.failed { color: var(--bad); } .status.running { color: var(--accent); }
.status.retrying { color: var(--warn); } .status.cancelled { color: var(--muted); } .status.scheduled { color: #b392f0; } .status.waiting { color: #b392f0; }
.advice.scale_up { color: var(--warn); } .advice.scale_down { color: var(--accent); } .advice.hold { color: var(--ok); }
.prio.p0 { color: var(--p0); } .prio.p1 { color: var(--p1); } .prio.p2 { color: var(--p2); }
.age-ok { color: var(--ok); } .age-late { color: var(--warn); } .age-stale { color: var(--bad); }
form label { display: flex; flex-direction: column; gap: 3px; color: var(--muted); font-size: 12px; margin-bottom: 8px; }
.row { display: flex; gap: 10px; flex-wrap: wrap; } .row label { flex: 1 1 110px; }
input, select, textarea, button { font: inherit; color: var(--text); background: #0d1117; border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; resize: vertical; }
button { cursor: pointer; background: #21262d; } button:hover { border-color: var(--accent); }
button[type="submit"] { background: #1f6feb; border-color: #1f6feb; font-weight: 600; }
button.cancel { padding: 2px 10px; font-size: 12px; } button.cancel:hover { border-color: var(--bad); color: var(--bad); }
button.link { background: none; border: none; color: var(--accent); padding: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.pager { display: flex; gap: 10px; align-items: center; justify-content: flex-end; margin-top: 8px; }
.error { color: var(--bad); }
dialog { background: var(--panel); color: var(--text); border: 1px solid var(--line); border-radius: 10px; width: min(760px, 92vw); max-height: 85vh; padding: 18px 20px; }
dialog::backdrop { background: rgba(0,0,0,.6); }
dialog .close { float: right; font-size: 18px; line-height: 1; padding: 2px 10px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-all; }
pre { background: #0d1117; border: 1px solid var(--line); border-radius: 6px; padding: 8px; margin: 0; overflow: auto; max-height: 220px; font-size: 12px; white-space: pre-wrap; word-break: break-word; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
/* API reference (/docs) */
.doc-nav { columns: 2 260px; margin: 0 0 16px; padding: 0; list-style: none; }
.op { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin-bottom: 12px; }
.op h3 { margin: 0 0 6px; font-size: 15px; color: var(--text); font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.method { display: inline-block; min-width: 62px; text-align: center; padding: 1px 6px; border-radius: 4px; font-size: 12px; margin-right: 8px; background: var(--line); }
.method.get { color: var(--ok); } .method.post { color: var(--accent); } .method.delete { color: var(--bad); }
.schema { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.schema ul { list-style: none; margin: 0; padding-left: 16px; border-left: 1px solid var(--line); }
.schema .req { color: var(--warn); } .schema .type { color: #b392f0; } .schema .desc { color: var(--muted); font-family: system-ui, sans-serif; }
`;
