/**
 * The dashboard page: static HTML; /dashboard/app.js fills it in from the public API every 2 s. No
 * inline script or style, so the Content-Security-Policy can be `'self'` only.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloud · dashboard</title>
<link rel="icon" href="/dashboard/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>cloud</h1>
  <span id="conn" class="pill" data-state="connecting">connecting…</span>
  <span id="updated" class="muted"></span>
  <form id="key-form" class="keyform" autocomplete="off"><input id="api-key" type="password" placeholder="API key (if required)" aria-label="API key"><button type="submit">Use key</button></form>
  <nav><a href="/docs">API reference</a> · <a href="/metrics">metrics</a> · <a href="/openapi.json">openapi.json</a></nav>
</header>
<main>
  <section class="cards" aria-label="Summary">
    <div class="card"><h2>Queued</h2><p class="big" id="depth">–</p><p class="muted"><span class="prio p0">P0</span> <span id="depth-0">–</span> · <span class="prio p1">P1</span> <span id="depth-1">–</span> · <span class="prio p2">P2</span> <span id="depth-2">–</span></p></div>
    <div class="card"><h2>Workers</h2><p class="big" id="live">–</p><p class="muted"><span id="registered">–</span> registered</p></div>
    <div class="card"><h2>Throughput</h2><p class="big" id="throughput">–</p><p class="muted">finished in the last minute</p></div>
    <div class="card"><h2>Success rate</h2><p class="big" id="success">–</p><p class="muted" id="by-status"></p></div>
    <div class="card"><h2>Oldest queued</h2><p class="big" id="oldest">–</p><p class="muted">wait p95 <span id="wait-p95">–</span></p><p class="muted" id="unroutable"></p></div>
    <div class="card wide"><h2>Autoscaling</h2><p class="big"><span id="advice" class="advice">–</span> <span id="advice-workers" class="muted"></span></p><p class="muted" id="advice-reason"></p></div>
  </section>

  <section class="panel" aria-label="History">
    <h2>Last 10 minutes <span class="legend"><span class="swatch bars"></span>jobs finished per 5 s <span class="swatch line"></span>queue depth</span></h2>
    <canvas id="chart" width="1200" height="220"></canvas>
  </section>

  <div class="columns">
    <section class="panel" aria-label="Submit a job">
      <h2>Submit a job</h2>
      <form id="submit-form" autocomplete="off">
        <label>Type <input id="f-type" name="type" value="echo" required></label>
        <label>Payload (JSON, or plain text) <textarea id="f-payload" name="payload" rows="3">"hello"</textarea></label>
        <div class="row">
          <label>Priority <select id="f-priority" name="priority"><option value="0">0 high</option><option value="1" selected>1 normal</option><option value="2">2 low</option></select></label>
          <label>Timeout (s) <input id="f-timeout" name="timeout_sec" type="number" min="1" max="86400" placeholder="300"></label>
          <label>Delay (s) <input id="f-delay" name="delay_sec" type="number" min="0" placeholder="0"></label>
          <label>Queue <input id="f-queue" name="queue" placeholder="default"></label>
        </div>
        <button type="submit" id="f-submit">Submit</button>
        <p id="submit-result" class="muted" role="status"></p>
      </form>
    </section>

    <section class="panel" aria-label="Workers">
      <h2>Workers</h2>
      <table id="workers"><thead><tr><th>Node</th><th>Status</th><th>Running</th><th>Heartbeat</th><th>Executors</th></tr></thead><tbody></tbody></table>
      <p id="no-workers" class="muted" hidden>No worker node is registered. Start one with <code>npm run worker</code>.</p>
    </section>
  </div>

  <section class="panel" aria-label="Jobs">
    <h2>Jobs <span class="muted" id="jobs-total"></span></h2>
    <form id="filters" class="row">
      <label>Status <select id="filter-status"><option value="">any</option><option>waiting</option><option>scheduled</option><option>queued</option><option>running</option><option>retrying</option><option>succeeded</option><option>failed</option><option>cancelled</option></select></label>
      <label>Priority <select id="filter-priority"><option value="">any</option><option value="0">0</option><option value="1">1</option><option value="2">2</option></select></label>
      <label>Type <input id="filter-type" placeholder="any"></label>
      <label>Queue <input id="filter-queue" placeholder="any"></label>
    </form>
    <table id="jobs"><thead><tr><th>Job</th><th>Type</th><th>Priority</th><th>Status</th><th>Attempts</th><th>Created</th><th>Worker</th><th></th></tr></thead><tbody></tbody></table>
    <div class="pager"><button id="prev" type="button">‹ Newer</button> <span id="page" class="muted"></span> <button id="next" type="button">Older ›</button></div>
  </section>
</main>

<dialog id="job-dialog">
  <form method="dialog"><button class="close" aria-label="Close">×</button></form>
  <h2 id="job-title"></h2>
  <dl id="job-fields"></dl>
  <h3>Attempts</h3>
  <table id="job-attempts"><thead><tr><th>#</th><th>Reason</th><th>Exit</th><th>Node</th><th>Executor</th><th>Started</th><th>Finished</th><th>Error</th></tr></thead><tbody></tbody></table>
  <h3>Result</h3><pre id="job-result"></pre>
  <h3>Error</h3><pre id="job-error"></pre>
  <h3>Payload</h3><pre id="job-payload"></pre>
</dialog>
</body>
</html>
`;
